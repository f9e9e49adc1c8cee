using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;

namespace Functions.Local;

/// <summary>
/// Reads the two files the Azure Functions host reads, so both hosts run on the same settings:
/// host.json (as <c>AzureFunctionsJobHost:…</c>, the host's own configuration prefix) and the <c>Values</c> of
/// local.settings.json (<c>OpenAI__ApiKey</c> becomes <c>OpenAI:ApiKey</c>). Environment variables and the command line
/// still win, as they do under <c>func start</c>.
/// </summary>
public static class FunctionsConfigurationFiles
{
    public static void Add(ConfigurationManager configuration, bool loadLocalSettings)
    {
        var settings = new Dictionary<string, string?>();
        var hostJson = FindFile("host.json");
        if (hostJson is not null)
        {
            foreach (var (key, value) in Read(hostJson))
            {
                settings["AzureFunctionsJobHost:" + key] = value;
            }
        }

        var localSettings = loadLocalSettings ? FindFile("local.settings.json") : null;
        if (localSettings is not null)
        {
            const string prefix = "Values:";
            foreach (var (key, value) in Read(localSettings).Where(setting => setting.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                settings[key[prefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = value;
            }
        }

        var sources = configuration.Sources;
        var environment = sources.ToList().FindIndex(source => source is EnvironmentVariablesConfigurationSource);
        sources.Insert(environment < 0 ? sources.Count : environment, new MemoryConfigurationSource { InitialData = settings });
    }

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
