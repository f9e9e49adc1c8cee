using Functions.Core;
using Functions.Core.Cache;
using Functions.Core.Conversations;
using Functions.Core.Spend;
using Functions.Core.Storage;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;

namespace Functions.Local;

/// <summary>
/// Reads the two files the Azure Functions host reads, so both hosts run on the same settings:
/// host.json (as <c>AzureFunctionsJobHost:…</c>, the host's own configuration prefix, which the WebJobs SDK's queue
/// trigger reads as the Functions host makes it do) and, in the Development environment, the <c>Values</c> of
/// local.settings.json (<c>OpenAI__ApiKey</c> becomes <c>OpenAI:ApiKey</c>): like user secrets, a developer's own file,
/// never read by a published or containerised host, nor by tests. Environment variables and the command line still
/// win, as they do under <c>func start</c>.
/// </summary>
public static class FunctionsConfigurationFiles
{
    /// <summary>Where the WebJobs SDK looks for its <c>extensions</c> section; the Functions host sets the same.</summary>
    public const string WebJobsRootSetting = "AzureWebJobsConfigurationSection";
    public const string JobHostSection = "AzureFunctionsJobHost";

    public static void Add(ConfigurationManager configuration, IHostEnvironment environment)
    {
        var settings = new Dictionary<string, string?>();
        var hostJson = FindFile("host.json");
        if (hostJson is not null)
        {
            foreach (var (key, value) in Read(hostJson))
            {
                settings[JobHostSection + ":" + key] = value;
            }
        }

        var localSettings = environment.IsDevelopment() ? FindFile("local.settings.json") : null;
        if (localSettings is not null)
        {
            const string prefix = "Values:";
            foreach (var (key, value) in Read(localSettings).Where(setting => setting.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                settings[key[prefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = value;
            }
        }

        var sources = configuration.Sources;
        var environmentVariables = sources.ToList().FindIndex(source => source is EnvironmentVariablesConfigurationSource);
        sources.Insert(environmentVariables < 0 ? sources.Count : environmentVariables, new MemoryConfigurationSource { InitialData = settings });
        sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
    }

    /// <summary>
    /// Below every other source: the WebJobs configuration root, and the settings the triggers bind by name (<c>%Setting%</c>)
    /// at the defaults Core's options have, so a fresh clone runs without local.settings.json. In Azure the app
    /// settings the infrastructure writes provide them, and local.settings.sample.json does for <c>func start</c>.
    /// </summary>
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        [WebJobsRootSetting] = JobHostSection,
        [FunctionNames.ChatQueueSetting] = new StorageOptions().ChatQueue,
        [FunctionNames.SweepCacheScheduleSetting] = new CacheOptions().SweepSchedule,
        [FunctionNames.SpendRollupScheduleSetting] = SpendRollupHandler.DefaultSchedule,
        [FunctionNames.SummaryQueueSetting] = new ConversationsOptions().SummaryQueue,
    };

    /// <summary>The repository's copy first (edited by hand), else the one copied next to the binaries (a container).</summary>
    private static string? FindFile(string name) =>
        new[] { Development.RepositoryFiles.FindRoot(), AppContext.BaseDirectory }
            .Where(folder => folder is not null)
            .Select(folder => Path.Combine(folder!, name))
            .FirstOrDefault(File.Exists);

    private static IEnumerable<KeyValuePair<string, string?>> Read(string jsonFile) =>
        new ConfigurationBuilder().AddJsonFile(jsonFile, optional: false).Build().AsEnumerable()
            .Where(setting => setting.Value is not null);
}
