using System.Collections.Concurrent;
using System.Text.Json;
using Functions.Local.Development;
using Microsoft.AspNetCore.Http;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// An OpenAI-compatible chat completions server on loopback whose answers each test scripts: replies are served in
/// the order enqueued; once the script runs out, <see cref="Responder"/> answers (by default a completion echoing the
/// last message). Faults: any status and headers, delays (timeouts), reset connections, bodies cut short, malformed JSON.
/// With <see cref="EnforceLimits"/> it also enforces a deployment's RPM and TPM as the provider does: real 429s with
/// <c>retry-after-ms</c>, and <c>x-ratelimit-*</c> headers on every answer.
/// </summary>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<RecordedCall> calls = new();
    private ScriptedLoopbackServer<FakeReply> server = null!;

    /// <summary>The OpenAI-style base URL, ending in <c>/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyCollection<RecordedCall> Calls => calls;

    /// <summary>Answers calls the script does not cover.</summary>
    public Func<JsonElement, FakeReply> Responder { get; set; } = DefaultReply;

    /// <summary>When set, a call with any other key gets OpenAI's 401 <c>invalid_api_key</c>, whose message quotes that key.</summary>
    public string? AcceptedKey { get; set; }

    /// <summary>The limits being enforced, if any (see <see cref="EnforceLimits"/>).</summary>
    public FakeProviderLimits? Limits { get; private set; }

    /// <summary>From now on, answers beyond <paramref name="requestsPerMinute"/> or <paramref name="tokensPerMinute"/> (each a bucket of that size, refilled continuously) are 429s.</summary>
    public void EnforceLimits(int requestsPerMinute, int tokensPerMinute) => Limits = new FakeProviderLimits(requestsPerMinute, tokensPerMinute);

    public static async Task<FakeOpenAIServer> StartAsync()
    {
        var fake = new FakeOpenAIServer();
        fake.server = await ScriptedLoopbackServer<FakeReply>.StartAsync(HttpMethods.Post, "/v1/chat/completions", fake.HandleAsync);
        fake.BaseUrl = new Uri(fake.server.Address, "v1");
        return fake;
    }

    public void Enqueue(params FakeReply[] replies) => server.Enqueue(replies);

    private async Task HandleAsync(HttpContext context, ScriptedLoopbackServer<FakeReply> script)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var root = body.RootElement;
        var presented = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        var reply = AcceptedKey is not null && presented != AcceptedKey ? FakeReply.InvalidApiKey(presented)
            : script.TryNext(out var scripted) ? scripted : Responder(root);
        if (Limits is { } limits && reply.IsSuccess)
        {
            reply = limits.Admit(reply, FakeReply.TokensOf(reply.Body));
        }
        var call = new RecordedCall(context.Request.Headers.Authorization.ToString(), root.Clone(), DateTimeOffset.UtcNow, reply);
        calls.Enqueue(call);
        context.RequestAborted.Register(() => call.Aborted.TrySetResult(DateTimeOffset.UtcNow));

        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, context.RequestAborted);
        }
        if (reply.Fault == FakeFault.ResetConnection)
        {
            context.Abort();
            return;
        }
        context.Response.StatusCode = reply.Status;
        foreach (var (name, value) in reply.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }
        if (reply.IsSuccess && ChatCompletionStream.IsRequested(root))
        {
            await StreamAsync(context, root, reply);
            return;
        }
        context.Response.ContentType = "application/json";
        if (reply.Fault == FakeFault.CutShort)
        {
            // Promise the whole body, send half, then drop the connection.
            context.Response.ContentLength = reply.Body.Length;
            await context.Response.WriteAsync(reply.Body[..(reply.Body.Length / 2)]);
            await context.Response.Body.FlushAsync();
            context.Abort();
            return;
        }
        await context.Response.WriteAsync(reply.Body);
    }

    /// <summary>The scripted completion, streamed: its content a word a chunk, its usage in the usage chunk.</summary>
    private static async Task StreamAsync(HttpContext context, JsonElement request, FakeReply reply)
    {
        using var completion = JsonDocument.Parse(reply.Body);
        var root = completion.RootElement;
        var choice = root.GetProperty("choices")[0];
        var usage = root.GetProperty("usage");
        try
        {
            await ChatCompletionStream.WriteAsync(context, request, choice.GetProperty("message").GetProperty("content").GetString() ?? "",
                root.GetProperty("model").GetString() ?? "fake-model", usage.GetProperty("prompt_tokens").GetInt32(),
                usage.GetProperty("completion_tokens").GetInt32(),
                usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32(),
                choice.GetProperty("finish_reason").GetString() ?? "stop", reply.ChunkDelay, reply.CutAfterChunks);
        }
        catch (OperationCanceledException)
        {
            // The client hung up mid-stream: recorded in the call's Aborted.
        }
    }

    private static FakeReply DefaultReply(JsonElement request)
    {
        var last = request.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString() ?? "";
        return FakeReply.Completion("echo: " + last, model: request.GetProperty("model").GetString() ?? "fake");
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

public sealed record RecordedCall(string Authorization, JsonElement Body, DateTimeOffset At, FakeReply Reply)
{
    /// <summary>Completes when the client (this backend) hung up before the reply was written whole.</summary>
    public TaskCompletionSource<DateTimeOffset> Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string LastMessage => Body.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString() ?? "";
}

public enum FakeFault
{
    None,
    ResetConnection,
    CutShort,
}

/// <summary>
/// One scripted answer. A success answers a streaming request as a stream: a word a chunk, <see cref="ChunkDelay"/>
/// apart, and the connection dropped after <see cref="CutAfterChunks"/> content chunks when that is set.
/// </summary>
public sealed record FakeReply(
    int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default, FakeFault Fault = FakeFault.None,
    TimeSpan ChunkDelay = default, int? CutAfterChunks = null)
{
    public bool IsSuccess => Status == 200 && Fault == FakeFault.None && Body.StartsWith('{') && Body.Contains("chat.completion");

    /// <summary>The total tokens a completion body reports.</summary>
    public static int TokensOf(string body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32();
    }

    public static FakeReply Completion(string content, int promptTokens = 11, int completionTokens = 7, int cachedTokens = 0,
        string model = "fake-model", string finishReason = "stop") =>
        new(200, JsonSerializer.Serialize(
            ChatCompletionJson.Create(content, model, promptTokens, completionTokens, cachedTokens, finishReason)));

    /// <summary>A completion in which the model calls one function instead of answering.</summary>
    public static FakeReply ToolCall(string id, string name, string arguments) =>
        new(200, JsonSerializer.Serialize(new
        {
            id = "chatcmpl-tool", @object = "chat.completion", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model = "gpt-4.1-mini",
            choices = new[]
            {
                new
                {
                    index = 0, finish_reason = "tool_calls",
                    message = new
                    {
                        role = "assistant", content = (string?)null,
                        tool_calls = new[] { new { id, type = "function", function = new { name, arguments } } },
                    },
                },
            },
            usage = ChatCompletionJson.Usage(20, 10),
        }));

    /// <summary>An OpenAI error body: <c>{"error":{"message","type","code"}}</c>.</summary>
    public static FakeReply Error(int status, string code, string type = "invalid_request_error",
        IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, JsonSerializer.Serialize(new { error = new { message = "Scripted failure " + code, type, code, param = (string?)null } }),
            headers);

    public static FakeReply RateLimited(TimeSpan retryAfter) =>
        Error(429, "rate_limit_exceeded", "requests",
            new Dictionary<string, string> { ["retry-after-ms"] = ((long)retryAfter.TotalMilliseconds).ToString() });

    public static FakeReply Malformed() => new(200, "{\"id\": \"chatcmpl-1\", \"choices\": [ oops");

    public static FakeReply ResetConnection() => new(200, "", Fault: FakeFault.ResetConnection);

    public static FakeReply CutShort() => Completion("this body will not arrive whole") with { Fault = FakeFault.CutShort };

    public static FakeReply Slow(TimeSpan delay) => Completion("slow") with { Delay = delay };

    /// <summary>OpenAI's answer to a wrong key. It quotes the key (OpenAI masks its middle; quoting it whole is the harsher test).</summary>
    public static FakeReply InvalidApiKey(string presentedKey) =>
        new(401, JsonSerializer.Serialize(new
        {
            error = new
            {
                message = $"Incorrect API key provided: {presentedKey}. You can find your API key at https://platform.openai.com/account/api-keys.",
                type = "invalid_request_error", code = "invalid_api_key", param = (string?)null,
            },
        }));
}

/// <summary>
/// A deployment's limits as the fake enforces them: two buckets (requests, tokens) of a minute's quota each, refilled
/// continuously, charged the usage the answer reports. Written apart from the backend's own counters on purpose.
/// </summary>
public sealed class FakeProviderLimits(int requestsPerMinute, int tokensPerMinute)
{
    private readonly object sync = new();
    private double requests = requestsPerMinute, tokens = tokensPerMinute;
    private DateTimeOffset at = DateTimeOffset.UtcNow;

    public int RequestsPerMinute => requestsPerMinute;
    public int TokensPerMinute => tokensPerMinute;
    public int Answered { get; private set; }
    public int Refused { get; private set; }
    public long TokensCharged { get; private set; }

    public FakeReply Admit(FakeReply reply, int cost)
    {
        lock (sync)
        {
            var now = DateTimeOffset.UtcNow;
            var minutes = (now - at).TotalMinutes;
            at = now;
            requests = Math.Min(requestsPerMinute, requests + minutes * requestsPerMinute);
            tokens = Math.Min(tokensPerMinute, tokens + minutes * tokensPerMinute);
            if (requests >= 1 && tokens >= cost)
            {
                requests -= 1;
                tokens -= cost;
                Answered++;
                TokensCharged += cost;
                return reply with { Headers = Headers(reply.Headers) };
            }
            Refused++;
            var wait = TimeSpan.FromMinutes(Math.Max(requests >= 1 ? 0 : (1 - requests) / requestsPerMinute,
                tokens >= cost ? 0 : (cost - tokens) / tokensPerMinute));
            var refused = FakeReply.Error(429, "rate_limit_exceeded", "requests");
            var headers = Headers(null);
            headers["retry-after-ms"] = ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return refused with { Headers = headers };
        }
    }

    private Dictionary<string, string> Headers(IReadOnlyDictionary<string, string>? existing)
    {
        var headers = new Dictionary<string, string>(existing ?? new Dictionary<string, string>())
        {
            ["x-ratelimit-limit-requests"] = $"{requestsPerMinute}",
            ["x-ratelimit-remaining-requests"] = $"{(long)Math.Floor(requests)}",
            ["x-ratelimit-reset-requests"] = $"{(long)Math.Ceiling((requestsPerMinute - requests) / requestsPerMinute * 60_000)}ms",
            ["x-ratelimit-limit-tokens"] = $"{tokensPerMinute}",
            ["x-ratelimit-remaining-tokens"] = $"{(long)Math.Floor(tokens)}",
            ["x-ratelimit-reset-tokens"] = $"{(long)Math.Ceiling((tokensPerMinute - tokens) / tokensPerMinute * 60_000)}ms",
        };
        return headers;
    }
}
