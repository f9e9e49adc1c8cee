using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.Extensions.Options;

namespace Functions.Core.Telemetry;

/// <summary>
/// Wraps the innermost model (<see cref="OpenAIChatModel"/>: one HTTP call per call), so every upstream call, including
/// a retry with a refreshed key, is one GenAI span with its measurements. The SDK's own instrumentation is not used:
/// it is experimental and does not cover streams.
/// </summary>
public sealed class InstrumentedChatModel(IChatModel inner, ServerlessTelemetry telemetry, IOptions<OpenAIOptions> options) : IChatModel
{
    private readonly UpstreamEndpoint endpoint = UpstreamEndpoint.From(options.Value.Endpoint);

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
}
