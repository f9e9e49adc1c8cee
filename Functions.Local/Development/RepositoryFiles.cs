namespace Functions.Local.Development;

/// <summary>Finds the repository's files (node_modules, .azurite) from wherever the host was started or built to.</summary>
public static class RepositoryFiles
{
    /// <summary>The folder holding package.json, searched upwards from the binaries and from the working folder.</summary>
    public static string? FindRoot() =>
        new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() }
            .SelectMany(Ancestors)
            .FirstOrDefault(folder => File.Exists(Path.Combine(folder, "package.json")) && File.Exists(Path.Combine(folder, "host.json")));

    public static string? FindAzuriteScript()
    {
        var root = FindRoot();
        var script = root is null ? null : Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js");
        return script is not null && File.Exists(script) ? script : null;
    }

    private static IEnumerable<string> Ancestors(string start)
    {
        for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
        {
            yield return folder.FullName;
        }
    }
}
