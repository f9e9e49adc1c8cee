using Microsoft.AspNetCore.Builder;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The lifecycle every test that drives a real host shares (one place instead of one per class): per test, a fresh
/// scripted model on loopback and, when <see cref="StartsHost"/>, the local host with <see cref="HostSettings"/>; any
/// host the test starts with <see cref="StartHostAsync"/> is stopped after it, hosts before the model.
/// </summary>
public abstract class HostedTest(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> started = [];
    private TestHost? host;

    protected AzuriteFixture Azurite => azurite;

    protected FakeOpenAIServer Model { get; private set; } = null!;

    /// <summary>The host started before the test (when <see cref="StartsHost"/>).</summary>
    protected TestHost Host => host ?? throw new InvalidOperationException($"{GetType().Name} does not start a host before its tests.");

    protected virtual bool StartsHost => false;

    protected virtual IReadOnlyDictionary<string, string?>? HostSettings => null;

    /// <summary>How the model answers for this class's tests, before any host starts (by default: as scripted per test).</summary>
    protected virtual void ScriptModel(FakeOpenAIServer model)
    {
    }

    /// <summary>What the host started before each test needs beyond <see cref="HostSettings"/> (logging, Kestrel limits).</summary>
    protected virtual void ConfigureHost(WebApplicationBuilder builder)
    {
    }

    /// <summary>Another local host on the same model (see <see cref="TestHost.StartAsync"/>), stopped after the test.</summary>
    protected async Task<TestHost> StartHostAsync(IReadOnlyDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var started = await TestHost.StartAsync(azurite, Model.BaseUrl, settings, configure);
        this.started.Add(started);
        return started;
    }

    /// <summary>The Azure Functions app's host on the same model (see <see cref="FunctionsAppHost.StartAsync"/>), freed after the test.</summary>
    protected async Task<FunctionsAppHost> StartFunctionsAppAsync(IReadOnlyDictionary<string, string?>? settings = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null) =>
        StopAfterTest(await FunctionsAppHost.StartAsync(azurite, Model.BaseUrl, settings, services));

    /// <summary>Stops <paramref name="disposable"/> (a host, a fake) after the test, before the model.</summary>
    protected T StopAfterTest<T>(T disposable) where T : IAsyncDisposable
    {
        started.Add(disposable);
        return disposable;
    }

    public async Task InitializeAsync()
    {
        Model = await FakeOpenAIServer.StartAsync();
        ScriptModel(Model);
        if (StartsHost)
        {
            host = await StartHostAsync(HostSettings, ConfigureHost);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(started))
        {
            await disposable.DisposeAsync();
        }
        await Model.DisposeAsync();
    }
}
