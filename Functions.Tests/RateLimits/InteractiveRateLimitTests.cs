using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Completions;
using Functions.Core.RateLimits;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static Functions.Tests.ChatCompletions.ChatCompletionsClient;

namespace Functions.Tests.RateLimits;

/// <summary>Rate limits and pacing at the interactive door, <c>POST /api/v1/chat/completions</c>, through the real host.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class InteractiveRateLimitTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task StreamsAndJsonCarryTheHeaders_AndARefusalIsA429InOpenAIsShape()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl,
            new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "2" });

        using var streamed = await host.CompleteAsync(User("stream it", stream: true), caller: "erin");
        var events = Events(await streamed.Content.ReadAsStringAsync());
        using var json = await host.CompleteAsync(User("json"), caller: "erin");
        using var refused = await host.CompleteAsync(User("one too many", stream: true), caller: "erin");

        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        // Headers cannot trail an SSE body: these were sent before its first byte.
        Assert.Equal("\"rpm\";q=2;w=60", streamed.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal("1", streamed.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("0", json.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("rate_limited", error.GetProperty("code").GetString());
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Matches("^\"rpm\";r=0;t=\\d+$", refused.Headers.GetValues("RateLimit").Single());
        Assert.Equal(2, model.Calls.Count);
    }

    [Fact]
    public async Task AStreamedCall_IsCorrectedToItsRealUsage_LikeAQueuedOne()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl, new Dictionary<string, string?>
        {
            ["RateLimits:PerCaller:TokensPerMinute"] = "1000000",
            ["Requests:MaxOutputTokens"] = "128000",
        });
        var body = new
        {
            model = "gpt-4.1-mini", messages = new[] { new { role = "user", content = "stream a little" } }, stream = true, max_tokens = 120_000,
        };

        using var streamed = await host.CompleteAsync(body, caller: "frank");
        _ = await streamed.Content.ReadAsStringAsync();
        using var invalid = await host.CompleteAsync(new { model = "gpt-4.1-mini", messages = Array.Empty<object>() }, caller: "frank");

        var reserved = 1_000_000 - long.Parse(streamed.Headers.GetValues("x-ratelimit-remaining-tokens").Single());
        Assert.InRange(reserved, 120_000, 120_020);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        // Settled to the stream's usage (a few dozen tokens): the bucket is (nearly) full again, not 120,000 down.
        Assert.InRange(long.Parse(invalid.Headers.GetValues("x-ratelimit-remaining-tokens").Single()), 990_000, 1_000_000);
    }

    [Theory]
    [InlineData(61, HttpStatusCode.OK)]             // a slot frees in about 1 s: within the 2 s the door waits
    [InlineData(66, HttpStatusCode.TooManyRequests)] // in about 6 s: 429 with Retry-After, no upstream call
    public async Task WithTheModelsLimitSpent_TheDoorWaitsUpToItsBound_ThenAnswers429(int spentSeconds, HttpStatusCode expected)
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl, new Dictionary<string, string?>
        {
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:RequestsPerMinute"] = "60",
        });
        _ = host.Service<WorstCaseTokens>().For(new Core.Requests.ChatRequest([new("user", "warm up")], "gpt-4.1-mini", null, 1));
        var key = host.Service<IOptions<OpenAIOptions>>().Value.Model("gpt-4.1-mini")!.PacingKey(model.BaseUrl);
        await host.Service<RateLimitStore>().WriteAsync(new CounterRow(RateLimitStore.ModelPartition(key), "spent",
            DateTimeOffset.UtcNow.AddSeconds(spentSeconds).UtcTicks, 0, 0, ""), CancellationToken.None);

        using var response = await host.CompleteAsync(User("paced"), caller: "gina");

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.TooManyRequests)
        {
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal("upstream_rate_limited", error.GetProperty("code").GetString());
            Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single()), 3, 7);
            Assert.Empty(model.Calls);
        }
        else
        {
            Assert.Single(model.Calls);
        }
    }
}
