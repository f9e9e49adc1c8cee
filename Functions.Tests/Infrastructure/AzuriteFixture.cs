using Functions.Local.Development;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// One real Azurite for the whole run, in memory and on ports it picks itself, so it never collides with a
/// developer's own emulator. Tests isolate themselves with unique table and queue names.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? azurite;

    public string ConnectionString => azurite?.ConnectionString ?? throw new InvalidOperationException("Azurite has not started.");

    public async Task InitializeAsync() => azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);

    public async Task DisposeAsync()
    {
        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }

    /// <summary>A name valid for both a table and a queue, unique to one test.</summary>
    public static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
