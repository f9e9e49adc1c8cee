using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Xunit.Abstractions;
using static Functions.Tests.ChatCompletions.ChatCompletionsClient;

namespace Functions.Tests.ChatCompletions;

/// <summary>The OpenAI-compatible door through the real local host, Azurite and the scripted fake model.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ChatCompletionsHttpTests(AzuriteFixture azurite, ITestOutputHelper output) : HostedTest(azurite)
{
    private Task<TestHost> StartAsync(Dictionary<string, string?>? settings = null) => TestHost.StartAsync(Azurite, Model.BaseUrl, settings);

    [Fact]
    public async Task Completion_AnswersInOpenAIsShape_AndRecordsOneLedgerRow()
    {
        Model.Enqueue(FakeReply.Completion("Hello from the model", promptTokens: 12, completionTokens: 5, cachedTokens: 4, model: "gpt-4.1-mini"));
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("hi"), caller: "alice");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Hello from the model", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(12, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(17, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(4, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.True(response.Headers.Contains("x-request-id"));

        var call = Assert.Single(await LedgerCallsAsync(host));
        Assert.Equal("alice", call.Caller);
        Assert.Equal(new Core.Jobs.TokenUsage(12, 4, 5), call.Usage);
        // What the answer cost, as the ledger recorded it, for an SPA to show.
        Assert.Equal(Money.Usd(call.CostMicros), usage.GetProperty("cost_usd").GetDecimal());
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task Stream_ForwardsEachDeltaAsItArrives_ThenTheUsageChunk_ThenDone_AndTheLedgerHoldsTheUpstreamUsage()
    {
        Model.Enqueue(FakeReply.Completion("one two three four", promptTokens: 21, completionTokens: 4, model: "gpt-4.1-mini"));
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("stream it", stream: true, includeUsage: true), caller: "bob");
        var body = await response.Content.ReadAsStringAsync();
        var events = Events(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("one two three four", StreamedText(body));
        Assert.Equal("[DONE]", events[^1]);
        var contentChunks = events.Count(data => data.Contains("\"content\":\"") && !data.Contains("\"content\":\"\""));
        Assert.Equal(4, contentChunks); // the fake streams a word a chunk: every one was forwarded as its own event
        var usageChunk = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(21, usageChunk.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var first = JsonDocument.Parse(events[0]).RootElement.GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());

        var call = Assert.Single(await LedgerCallsAsync(host));
        Assert.Equal(new Core.Jobs.TokenUsage(21, 0, 4), call.Usage);
        Assert.False(call.Usage.Estimated);
    }

    [Fact]
    public async Task Stream_AlwaysAsksUpstreamForUsage_EvenWhenTheClientDidNot()
    {
        Model.Enqueue(FakeReply.Completion("counted anyway", promptTokens: 9, completionTokens: 2, model: "gpt-4.1-mini"));
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("no usage for me", stream: true, includeUsage: false));
        var body = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain(Events(body), data => data.Contains("\"usage\""));
        var upstream = Assert.Single(Model.Calls).Body;
        Assert.True(upstream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(new Core.Jobs.TokenUsage(9, 0, 2), Assert.Single(await LedgerCallsAsync(host)).Usage);
    }

    [Fact]
    public async Task CutStream_EndsWithAnErrorEvent_AndIsChargedOnce_WithEstimatedUsage()
    {
        Model.Enqueue(FakeReply.Completion("alpha beta gamma delta epsilon", model: "gpt-4.1-mini") with { CutAfterChunks = 2 });
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("cut me off", stream: true, includeUsage: true));
        var body = await response.Content.ReadAsStringAsync();
        var events = Events(body);

        Assert.Equal("alpha beta", StreamedText(body));
        var error = JsonDocument.Parse(events[^1]).RootElement.GetProperty("error");
        Assert.Equal("upstream_unreachable", error.GetProperty("code").GetString());
        Assert.DoesNotContain("[DONE]", events);

        var call = Assert.Single(await LedgerCallsAsync(host));
        Assert.True(call.Usage.Estimated);
        Assert.Equal(2, call.Usage.OutputTokens); // " alpha" and " beta": one o200k token each
        Assert.True(call.Usage.InputTokens > 0);
        Assert.True(call.CostMicros > 0);
        Assert.Single(Model.Calls); // content had reached the client: no second attempt to mix into it
    }

    [Fact]
    public async Task TransientFailureBeforeTheFirstByte_IsRetried_AndTheClientSeesOneCleanAnswer()
    {
        Model.Enqueue(FakeReply.Error(503, "overloaded", "server_error"),
            FakeReply.Completion("second time lucky", model: "gpt-4.1-mini"));
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("retry me", stream: true));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("second time lucky", StreamedText(body));
        Assert.Equal(2, Model.Calls.Count);
        Assert.Single(await LedgerCallsAsync(host)); // the 503 generated nothing and cost nothing
    }

    [Fact]
    public async Task PermanentUpstreamFailure_IsAnOpenAIError_WithoutRetry()
    {
        Model.Enqueue(FakeReply.Error(401, "invalid_api_key"));
        await using var host = await StartAsync();

        using var response = await host.CompleteAsync(User("wrong key"));
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("model_unauthorized", error.GetProperty("code").GetString());
        Assert.Single(Model.Calls);
        Assert.Empty(await LedgerCallsAsync(host));
    }

    [Fact]
    public async Task CacheHit_IsStreamedAsChunks_WithoutAModelCall()
    {
        Model.Enqueue(FakeReply.Completion("a deterministic answer", model: "gpt-4.1-mini"));
        await using var host = await StartAsync();

        using var miss = await host.CompleteAsync(User("same question", temperature: 0));
        Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
        Assert.Contains("fwd=miss", miss.Headers.GetValues("Cache-Status").Single());
        using var hit = await host.CompleteAsync(User("same question", stream: true, includeUsage: true, temperature: 0));
        var body = await hit.Content.ReadAsStringAsync();

        Assert.Contains("hit", hit.Headers.GetValues("Cache-Status").Single());
        Assert.Equal("a deterministic answer", StreamedText(body));
        Assert.Equal("[DONE]", Events(body)[^1]);
        Assert.Single(Model.Calls);
        Assert.Single(await LedgerCallsAsync(host));
    }

    [Fact]
    public async Task IdenticalConcurrentMisses_MakeOneModelCall()
    {
        Model.Responder = _ => FakeReply.Completion("shared", model: "gpt-4.1-mini") with { Delay = TimeSpan.FromMilliseconds(300) };
        await using var host = await StartAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => host.CompleteAsync(User("everyone asks this", temperature: 0))));
        var contents = await Task.WhenAll(responses.Select(async response =>
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.All(contents, content => Assert.Equal("shared", content));
        Assert.Single(Model.Calls);
        Assert.Single(await LedgerCallsAsync(host));
    }

    [Fact]
    public async Task ACacheableMissRefusedByTheBudget_GivesItsSingleFlightClaimBack()
    {
        // The claim is made while the budget is checked: a refusal must not leave the key led (for a 2-minute lease)
        // by a request that never calls the model. 100 µ$ is less than this request's worst case (168 µ$).
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Budgets:PerCallerDailyUsd"] = "0.0001" });
        var body = new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 100, temperature = 0 };

        using var refused = await host.Client.SendAsync(Request(body));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var table = host.Service<Functions.Core.Cache.CacheTable>().Client;
        async Task<int> LeadersAsync() => await table.QueryAsync<Azure.Data.Tables.TableEntity>("RowKey eq 'leader'").CountAsync();
        for (var i = 0; i < 100 && await LeadersAsync() > 0; i++)
        {
            await Task.Delay(20); // given back off the refusal's path
        }
        Assert.Equal(0, await LeadersAsync());
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task FiftyConcurrentStreams_AgainstABudgetForTen_AdmitExactlyTen()
    {
        // "hi" with max_tokens 100 on gpt-4.1-mini reserves 168 µ$ (see BudgetEndToEndTests): room for 10 in 1,700.
        Model.Responder = _ => FakeReply.Completion("slow") with { Delay = TimeSpan.FromSeconds(30) };
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["Budgets:GlobalDailyUsd"] = "0.0017",
            ["ChatCompletions:KeepAliveInterval"] = "00:00:00.100",
        });
        var body = new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 100, stream = true };

        // Headers only: an admitted stream answers 200 with its first keep-alive, long before the model does.
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            host.Client.SendAsync(Request(body, caller: $"caller-{i % 7}"), HttpCompletionOption.ResponseHeadersRead)));
        try
        {
            Assert.Equal(10, responses.Count(response => response.StatusCode == HttpStatusCode.OK));
            var refused = responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.Equal(40, refused.Count);
            foreach (var response in refused)
            {
                var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
                Assert.Equal("budget_exceeded", error.GetProperty("code").GetString());
                Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task ClientDisconnect_CancelsTheUpstreamCall_AndChargesWhatWasGenerated()
    {
        var words = string.Join(' ', Enumerable.Range(1, 200).Select(i => $"word{i}"));
        Model.Enqueue(FakeReply.Completion(words, model: "gpt-4.1-mini") with { ChunkDelay = TimeSpan.FromMilliseconds(20) });
        await using var host = await StartAsync();
        // A closed tab drops the connection at once; HttpClient would by default read on for two more seconds first.
        using var tab = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = host.Client.BaseAddress };

        var response = await tab.SendAsync(Request(User("talk a lot", stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        for (var deltas = 0; deltas < 3;)
        {
            deltas += (await reader.ReadLineAsync())!.StartsWith("data: ") ? 1 : 0;
        }
        var closedAt = Stopwatch.GetTimestamp();
        response.Dispose(); // the tab is closed

        var aborted = await Assert.Single(Model.Calls).Aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"upstream cancelled {Stopwatch.GetElapsedTime(closedAt).TotalMilliseconds:F0} ms after the client hung up");
        var call = await EventuallyAsync(async () => (await LedgerCallsAsync(host)).SingleOrDefault());
        Assert.True(call.Usage.Estimated);
        // Charged for what reached us before the hang-up, not the whole answer nor nothing.
        var wholeAnswer = new Functions.Core.Tokens.TokenCounter().CountText("gpt-4.1-mini", words);
        Assert.InRange(call.Usage.OutputTokens, 3, wholeAnswer / 2);
        Assert.Single(await LedgerCallsAsync(host));
        Assert.True(aborted > DateTimeOffset.MinValue);
    }

    [Fact]
    public async Task SilentModel_GetsKeepAliveComments_BeforeTheFirstDelta()
    {
        Model.Enqueue(FakeReply.Completion("eventually", model: "gpt-4.1-mini") with { Delay = TimeSpan.FromMilliseconds(400) });
        await using var host = await StartAsync(new Dictionary<string, string?> { ["ChatCompletions:KeepAliveInterval"] = "00:00:00.050" });

        using var response = await host.CompleteAsync(User("think first", stream: true));
        var body = await response.Content.ReadAsStringAsync();

        Assert.StartsWith(": keep-alive\n\n", body);
        Assert.Equal("eventually", StreamedText(body));
    }

    [Theory]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n", "unsupported_parameter")]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true}", "logprobs", "unsupported_parameter")]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":99999999}", "max_completion_tokens", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":7}", "top_p", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[]}", "messages", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", "messages[0].content[0].type", "unsupported_parameter")]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}", "messages[0].tool_call_id", null)]
    [InlineData("{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream_options\":{\"include_usage\":true}}", "stream_options", null)]
    [InlineData("{\"model\":\"gpt-4.1-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"frobnicate\":1}", "frobnicate", "unknown_parameter")]
    public async Task BadRequest_IsA400InOpenAIsErrorShape_NamingTheField(string json, string param, string? code)
    {
        await using var host = await StartAsync();

        using var response = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, CompletionsPath)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        });
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task WrongMediaTypeAndOversizedBodies_AreOpenAIErrorsToo()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Requests:MaxBodyBytes"] = "1024" });

        using var text = await host.Client.PostAsync(CompletionsPath, new StringContent("hello", System.Text.Encoding.UTF8, "text/plain"));
        using var large = await host.CompleteAsync(User(new string('x', 4000)));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.True((await text.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("error", out _));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.True((await large.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("error", out _));
    }

    [Fact]
    public async Task ToolCalls_RoundTrip_ThroughTheDoor()
    {
        Model.Responder = request =>
        {
            var last = request.GetProperty("messages").EnumerateArray().Last();
            return last.GetProperty("role").GetString() == "tool"
                ? FakeReply.Completion("It is 21 degrees.", model: "gpt-4.1-mini")
                : FakeReply.ToolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}");
        };
        await using var host = await StartAsync();
        var tools = new[] { new { type = "function", function = new { name = "get_weather", parameters = new { type = "object" } } } };

        using var first = await host.CompleteAsync(new
        {
            model = "gpt-4.1-mini", tools, tool_choice = "auto",
            messages = new object[] { new { role = "user", content = "Weather in Oslo?" } },
        });
        var call = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0];
        using var second = await host.CompleteAsync(new
        {
            model = "gpt-4.1-mini", tools,
            messages = new object[]
            {
                new { role = "user", content = "Weather in Oslo?" },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_weather", arguments = "{\"city\":\"Oslo\"}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = "21" },
            },
        });

        Assert.Equal("tool_calls", call.GetProperty("finish_reason").GetString());
        var toolCall = call.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("call_1", toolCall.GetProperty("id").GetString());
        Assert.Equal("get_weather", toolCall.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var upstreamTool = Model.Calls.Last().Body.GetProperty("messages")[2];
        Assert.Equal("call_1", upstreamTool.GetProperty("tool_call_id").GetString());
        Assert.Equal("auto", Model.Calls.First().Body.GetProperty("tool_choice").GetString());
    }

    private static async Task<List<LedgerEntry>> LedgerCallsAsync(TestHost host)
    {
        var entries = new List<LedgerEntry>();
        await foreach (var entry in host.Service<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None))
        {
            if (entry.Kind == LedgerEntry.Call)
            {
                entries.Add(entry);
            }
        }
        return entries;
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe) where T : class
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("The condition did not hold within 10 s.");
    }
}
