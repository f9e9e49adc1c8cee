namespace Functions.Tests.Infra;

/// <summary>Compiles and lints infra/main.bicep once for every Infra test; needs no Azure and no network.</summary>
public sealed class BicepTemplateFixture : IAsyncLifetime
{
    private readonly string outputFile = Path.Combine(Path.GetTempPath(), $"main-{Guid.NewGuid():N}.json");
    private ArmTemplate? template;

    public static string InfraFolder => Path.Combine(BicepCli.RepositoryRoot, "infra");

    public static string MainBicep => Path.Combine(InfraFolder, "main.bicep");

    public BicepResult Build { get; private set; } = null!;

    /// <summary><c>bicep lint</c> with SARIF on standard output.</summary>
    public BicepResult Lint { get; private set; } = null!;

    /// <summary>The compiled ARM template of main.bicep.</summary>
    public ArmTemplate Template => template
        ?? throw new InvalidOperationException($"bicep build failed (exit code {Build.ExitCode}):{Environment.NewLine}{Build.StandardError}");

    public async Task InitializeAsync()
    {
        // --outfile keeps the compiled JSON out of the repository.
        var build = BicepCli.RunAsync("build", MainBicep, "--outfile", outputFile);
        var lint = BicepCli.RunAsync("lint", MainBicep, "--diagnostics-format", "sarif");
        (Build, Lint) = (await build, await lint);
        if (Build.ExitCode == 0)
        {
            template = ArmTemplate.Load(outputFile);
        }
    }

    public Task DisposeAsync()
    {
        File.Delete(outputFile);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<BicepTemplateFixture>
{
    public const string Name = "Infra";
}
