using System.Text.Json;
using Functions.Local.Development;

/// <summary>
/// A zero-latency OpenAI-compatible model on loopback (streams a word a chunk, <see cref="ChunkDelay"/> apart), which
/// notes how many storage round trips the caller had made when each call arrived.
/// </summary>
internal sealed class BenchmarkModel(StorageRoundTrips storage) : IAsyncDisposable
{
    private WebApplication? app;

    public Uri BaseUrl { get; private set; } = null!;
    public TimeSpan ChunkDelay { get; set; }
    public long StorageAtLastCall { get; private set; }
    public int Calls;

    public const string Answer = "The quick brown fox jumps over the lazy dog while the model streams its answer word by word.";

    public async Task StartAsync()
    {
        var (started, address) = await LoopbackApp.StartAsync(web => web.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            StorageAtLastCall = storage.Count;
            Interlocked.Increment(ref Calls);
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var model = ChatCompletionJson.Model(body.RootElement);
            if (ChatCompletionStream.IsRequested(body.RootElement))
            {
                await ChatCompletionStream.WriteAsync(context, body.RootElement, Answer, model, 20, 18, chunkDelay: ChunkDelay);
                return;
            }
            await Results.Json(ChatCompletionJson.Create(Answer, model, 20, 18)).ExecuteAsync(context);
        }));
        app = started;
        BaseUrl = new Uri(address, "v1");
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }
}
