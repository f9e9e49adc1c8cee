using System.Runtime.CompilerServices;
using System.Text;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.Extensions.Options;

namespace Functions.Core.Telemetry;

/// <summary>
/// Wraps the innermost model (<see cref="OpenAIChatModel"/>: one HTTP call per call), so every upstream call, including
/// a retry with a refreshed key, is one GenAI span with its measurements, streamed or not. The OpenAI SDK's own
/// instrumentation is not used: it is experimental and does not cover streams. For a stream the span ends with the
/// stream: its first chunk gives the time to first chunk, its final chunk the usage; a stream left unfinished (the
/// client went away) ends as cancelled.
/// </summary>
public sealed class InstrumentedChatModel(IChatModel inner, ServerlessTelemetry telemetry, Uri? endpointUrl) : IChatModel
{
    private readonly UpstreamEndpoint endpoint = UpstreamEndpoint.From(endpointUrl);

    public InstrumentedChatModel(IChatModel inner, ServerlessTelemetry telemetry, IOptions<OpenAIOptions> options)
        : this(inner, telemetry, options.Value.Endpoint)
    {
    }

    public async Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        using var call = telemetry.StartModelCall(request, endpoint, streamed: false);
        try
        {
            var result = await inner.CompleteAsync(request, cancellationToken);
            call.Succeeded(result);
            return result;
        }
        catch (Exception ex)
        {
            call.Failed(ex);
            throw;
        }
    }

    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = telemetry.StartModelCall(request, endpoint, streamed: true);
        var text = telemetry.Options.RecordMessageContent ? new StringBuilder() : null;
        string? model = null, finishReason = null;
        TokenUsage? usage = null;
        await using var stream = inner.StreamAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            ChatDelta delta;
            try
            {
                if (!await stream.MoveNextAsync())
                {
                    break;
                }
                delta = stream.Current;
            }
            catch (Exception ex)
            {
                call.Failed(ex);
                throw;
            }
            if (delta.Content is not null || delta.ToolCalls is not null)
            {
                call.Chunk();
            }
            text?.Append(delta.Content);
            model ??= delta.Model;
            finishReason = delta.FinishReason ?? finishReason;
            usage = delta.Usage ?? usage;
            yield return delta;
        }
        // Without a usage chunk there are no token counts to report (the conventions say not to guess them here).
        call.Succeeded(new JobResult(text?.ToString() ?? "", model ?? request.Model, finishReason ?? "stop",
            usage ?? new TokenUsage(0, 0, 0, Estimated: true)));
    }
}
