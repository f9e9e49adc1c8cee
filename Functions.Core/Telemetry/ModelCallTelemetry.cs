using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using static Functions.Core.Telemetry.TelemetryNames;

namespace Functions.Core.Telemetry;

/// <summary>Where model calls go, as the GenAI conventions name it: the provider, and the server's host and port.</summary>
public sealed record UpstreamEndpoint(string Provider, string Address, int Port)
{
    private static readonly Uri OpenAIDefault = new("https://api.openai.com/v1");

    public static UpstreamEndpoint From(Uri? endpoint)
    {
        var uri = endpoint ?? OpenAIDefault;
        var provider = uri.Host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase) ? GenAi.AzureOpenAI : GenAi.OpenAI;
        return new UpstreamEndpoint(provider, uri.Host, uri.Port);
    }
}

/// <summary>
/// One upstream model call: a CLIENT span named <c>chat {model}</c> with the GenAI attributes, and the
/// <c>gen_ai.client.operation.duration</c>, <c>gen_ai.client.token.usage</c> and upstream-status measurements when it
/// ends. For a stream, <see cref="Chunk"/> marks each chunk (the first gives the time to first chunk) and
/// <see cref="Succeeded"/> takes the usage of the final chunk. The span also carries the caller hash and route of the
/// span it runs under. Message contents are recorded only with <see cref="TelemetryOptions.RecordMessageContent"/>.
/// </summary>
public sealed class ModelCallTelemetry : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ServerlessTelemetry telemetry;
    private readonly Activity? span;
    private readonly long started;
    private TagList tags;
    private bool firstChunkSeen;
    private bool ended;

    internal ModelCallTelemetry(ServerlessTelemetry telemetry, ChatRequest request, UpstreamEndpoint endpoint, bool streamed)
    {
        this.telemetry = telemetry;
        started = telemetry.Time.GetTimestamp();
        tags = new TagList
        {
            { GenAi.OperationName, GenAi.Chat },
            { GenAi.ProviderName, endpoint.Provider },
            { GenAi.RequestModel, request.Model },
            { ServerAddress, endpoint.Address },
            { ServerPort, endpoint.Port },
        };

        var parent = Activity.Current;
        span = telemetry.ActivitySource.StartActivity(Spans.ModelCall(request.Model), ActivityKind.Client);
        if (span is null)
        {
            return;
        }
        foreach (var tag in tags)
        {
            span.SetTag(tag.Key, tag.Value);
        }
        span.SetTag(GenAi.RequestTemperature, request.Temperature);
        span.SetTag(GenAi.RequestMaxTokens, request.MaxTokens);
        span.SetTag(GenAi.RequestTopP, request.TopP);
        span.SetTag(GenAi.RequestSeed, request.Seed);
        span.SetTag(Ours.Streamed, streamed);
        span.SetTag(Ours.CallerHash, parent?.GetTagItem(Ours.CallerHash));
        span.SetTag(Ours.Route, parent?.GetTagItem(Ours.Route));
        if (telemetry.Options.RecordMessageContent)
        {
            span.SetTag(GenAi.InputMessages, InputMessages(request));
        }
    }

    /// <summary>A chunk of a streamed answer arrived; the first one is the time to first chunk.</summary>
    public void Chunk()
    {
        if (firstChunkSeen)
        {
            return;
        }
        firstChunkSeen = true;
        var elapsed = telemetry.Time.GetElapsedTime(started);
        span?.SetTag(GenAi.ResponseTimeToFirstChunk, elapsed.TotalSeconds);
        telemetry.TimeToFirstToken(elapsed, tags);
    }

    public void Succeeded(JobResult result)
    {
        if (ended)
        {
            return;
        }
        ended = true;
        tags.Add(GenAi.ResponseModel, result.Model);
        var elapsed = telemetry.Time.GetElapsedTime(started);
        telemetry.RecordDuration(elapsed, tags);
        var counted = !result.Usage.Estimated; // a stream that sent no usage chunk has none to report
        if (counted)
        {
            telemetry.RecordTokens(result.Usage.InputTokens, "input", tags);
            telemetry.RecordTokens(result.Usage.OutputTokens, "output", tags);
        }
        telemetry.UpstreamStatus(200, null, tags);
        if (span is null)
        {
            return;
        }
        span.SetTag(GenAi.ResponseModel, result.Model);
        span.SetTag(GenAi.ResponseFinishReasons, new[] { result.FinishReason });
        if (counted)
        {
            span.SetTag(GenAi.UsageInputTokens, result.Usage.InputTokens);
            span.SetTag(GenAi.UsageOutputTokens, result.Usage.OutputTokens);
            span.SetTag(GenAi.UsageCachedInputTokens, result.Usage.CachedInputTokens);
        }
        span.SetTag(HttpStatusCode, 200);
        if (telemetry.Options.RecordMessageContent)
        {
            span.SetTag(GenAi.OutputMessages, OutputMessages(result));
        }
    }

    /// <summary>The call failed: <c>error.type</c> is the upstream HTTP status when there was one, else the failure's code.</summary>
    public void Failed(Exception exception)
    {
        if (ended)
        {
            return;
        }
        ended = true;
        var (status, errorType) = exception switch
        {
            ModelCallException { Status: > 0 and var code } => (code, code.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ModelCallException model => (0, model.Code),
            OperationCanceledException => (0, "cancelled"),
            _ => (0, exception.GetType().FullName ?? "_OTHER"),
        };
        var withError = tags;
        withError.Add(ErrorType, errorType);
        telemetry.RecordDuration(telemetry.Time.GetElapsedTime(started), withError);
        telemetry.UpstreamStatus(status, errorType, tags);
        if (span is null)
        {
            return;
        }
        span.SetTag(ErrorType, errorType);
        if (status > 0)
        {
            span.SetTag(HttpStatusCode, status);
        }
        // The code, never the message: an upstream message can quote what it was sent.
        span.SetStatus(ActivityStatusCode.Error, exception is ModelCallException failed ? failed.Code : errorType);
    }

    public void Dispose()
    {
        if (!ended)
        {
            Failed(new OperationCanceledException()); // abandoned mid-call (a stream the client walked away from)
        }
        span?.Dispose();
    }

    private static string InputMessages(ChatRequest request) => new JsonArray(
        [.. request.Messages.Select(message => (JsonNode)new JsonObject
        {
            ["role"] = message.Role,
            ["parts"] = new JsonArray(new JsonObject { ["type"] = "text", ["content"] = message.Content }),
        })]).ToJsonString(Json);

    private static string OutputMessages(JobResult result) => new JsonArray(new JsonObject
    {
        ["role"] = "assistant",
        ["parts"] = new JsonArray(new JsonObject { ["type"] = "text", ["content"] = result.Content }),
        ["finish_reason"] = result.FinishReason,
    }).ToJsonString(Json);
}
