using Functions.Core.Secrets;
using Functions.Core.Storage;

namespace Functions.Local.Development;

/// <summary>
/// Starts what a fresh machine lacks: Azurite when storage is the emulator and nothing listens on its ports, and the
/// offline model when no OpenAI key (in configuration or Key Vault) or endpoint is set. Whatever it started stops with the host.
/// </summary>
public sealed class DevelopmentDependencies : IHostedService
{
    private readonly List<IAsyncDisposable> started = [];
    private readonly List<(LogLevel Level, string Message)> announcements = [];

    public static async Task<DevelopmentDependencies> StartMissingAsync(IConfiguration configuration)
    {
        var dependencies = new DevelopmentDependencies();
        try
        {
            await dependencies.StartStorageAsync(configuration);
            await dependencies.StartModelAsync(configuration);
        }
        catch
        {
            await dependencies.StopAsync(CancellationToken.None);
            throw;
        }
        return dependencies;
    }

    private async Task StartStorageAsync(IConfiguration configuration)
    {
        var setting = configuration[StorageAccount.SettingName];
        var identityBased = configuration.GetSection(StorageAccount.SettingName).GetChildren().Any();
        if (identityBased || !(string.IsNullOrWhiteSpace(setting) || setting.Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        configuration[StorageAccount.SettingName] = "UseDevelopmentStorage=true";
        var root = RepositoryFiles.FindRoot();
        var choice = await LocalAzurite.EnsureAsync(10000, 10001, 10002, root is null ? null : Path.Combine(root, ".azurite"));
        if (choice.Started is not null)
        {
            started.Add(choice.Started);
        }
        announcements.Add((choice.Level, choice.Announcement));
    }

    private async Task StartModelAsync(IConfiguration configuration)
    {
        // Listed endpoints with neither a URL nor a key are played by the offline model, each under its own path.
        var offlineEndpoints = configuration.GetSection("OpenAI:Endpoints").GetChildren()
            .Where(e => e["Name"] is { Length: > 0 } && string.IsNullOrWhiteSpace(e["Url"]) && string.IsNullOrWhiteSpace(e["ApiKey"])
                        && string.IsNullOrWhiteSpace(e["KeyVaultSecret"]))
            .ToList();
        if (offlineEndpoints.Count > 0)
        {
            var down = (configuration["OfflineModel:Down"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToHashSet(StringComparer.Ordinal);
            var several = await OfflineModelServer.StartAsync(configuration.GetValue<TimeSpan?>("OfflineModel:ChunkDelay"), down);
            started.Add(several);
            foreach (var listed in offlineEndpoints)
            {
                configuration[$"{listed.Path}:Url"] = several.EndpointUrl(listed["Name"]!).ToString();
            }
            announcements.Add((LogLevel.Warning,
                $"Model: OFFLINE for endpoints {string.Join(", ", offlineEndpoints.Select(e => e["Name"]))} (no Url or key set); " +
                $"scripted down (OfflineModel__Down): {(down.Count == 0 ? "none" : string.Join(", ", down))}."));
            return;
        }
        var endpoint = configuration["OpenAI:Endpoint"];
        var keyInVault = configuration.GetSection(KeyVaultOptions.SectionName).Get<KeyVaultOptions>()?.VaultSecretName(SecretNames.OpenAIApiKey) is not null;
        if (keyInVault || !string.IsNullOrWhiteSpace(configuration["OpenAI:ApiKey"]) || !string.IsNullOrWhiteSpace(endpoint))
        {
            // Scheme, host and path only: some gateways take a key in the query string.
            var shown = Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : "https://api.openai.com/v1";
            announcements.Add((LogLevel.Information, $"Model: {shown}"));
            return;
        }

        var offline = await OfflineModelServer.StartAsync(configuration.GetValue<TimeSpan?>("OfflineModel:ChunkDelay"));
        started.Add(offline);
        configuration["OpenAI:Endpoint"] = offline.BaseUrl.ToString();
        announcements.Add((LogLevel.Warning,
            $"Model: OFFLINE. Neither OpenAI__ApiKey nor OpenAI__Endpoint is set, so a canned offline model at {offline.BaseUrl} " +
            "answers every request. Set OpenAI__ApiKey (environment or local.settings.json) to talk to OpenAI."));
    }

    public void Announce(ILogger logger)
    {
        foreach (var (level, message) in announcements)
        {
            logger.Log(level, "{Message}", message);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var dependency in Enumerable.Reverse(started))
        {
            await dependency.DisposeAsync();
        }
        started.Clear();
    }
}
