using Functions.Local;
using Functions.Local.Development;

/// <summary>
/// What the HTTP benchmarks run against, started one way: their own in-memory Azurite, the offline (zero-latency) model
/// and the local host built as its Program builds it, on a free port, logging warnings only.
/// </summary>
internal sealed class BenchmarkHost : IAsyncDisposable
{
    private readonly AzuriteProcess azurite;
    private readonly OfflineModelServer model;

    private BenchmarkHost(AzuriteProcess azurite, OfflineModelServer model, WebApplication app)
    {
        this.azurite = azurite;
        this.model = model;
        App = app;
        Http = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(app)) };
    }

    public WebApplication App { get; }
    public HttpClient Http { get; }

    public static async Task<BenchmarkHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var azurite = await AzuriteProcess.StartAsync(0, 0, 0, dataFolder: null);
        var model = await OfflineModelServer.StartAsync();
        var builder = LocalHost.CreateBuilder([]);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["OpenAI:Endpoint"] = model.BaseUrl.ToString(),
            ["OpenAI:ApiKey"] = "benchmark",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = await LocalHost.BuildAsync(builder);
        await app.StartAsync();
        return new BenchmarkHost(azurite, model, app);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await model.DisposeAsync();
        await azurite.DisposeAsync();
    }
}
