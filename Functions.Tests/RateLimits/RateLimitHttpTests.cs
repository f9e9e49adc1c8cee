using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Callers;
using Functions.Core.Spend;
using Functions.Tests.Conversations;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.RateLimits;

/// <summary>Per-caller limits through the real local host (Kestrel, Azurite, the loopback model).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RateLimitHttpTests(AzuriteFixture azurite)
{
    private static HttpRequestMessage Submit(object body, string? caller, params string[] roles)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(body) };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        if (roles.Length > 0)
        {
            var principal = JsonSerializer.Serialize(new { claims = roles.Select(role => new { typ = "roles", val = role }) });
            request.Headers.Add(SpendAdmins.PrincipalHeader, Convert.ToBase64String(Encoding.UTF8.GetBytes(principal)));
        }
        return request;
    }

    [Fact]
    public async Task FiftyConcurrentRequests_WithATenRequestLimit_AdmitExactlyTen_AndRefuseFortyWithHeaders()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl,
            new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "10" });

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            host.Client.SendAsync(Submit(TestHost.UserMessage($"burst {i}"), "alice"))));

        var admitted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(10, admitted.Count);
        Assert.Equal(40, refused.Count);
        Assert.All(responses, response =>
        {
            Assert.Equal("\"rpm\";q=10;w=60", response.Headers.GetValues("RateLimit-Policy").Single());
            Assert.Matches("^\"rpm\";r=\\d+;t=\\d+$", response.Headers.GetValues("RateLimit").Single());
            Assert.Equal("10", response.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.True(response.Headers.Contains("x-ratelimit-remaining-requests"));
            Assert.True(response.Headers.Contains("x-ratelimit-reset-requests"));
        });
        Assert.Equal(Enumerable.Range(0, 10).Reverse().Select(n => $"{n}"),
            admitted.Select(r => r.Headers.GetValues("x-ratelimit-remaining-requests").Single()).OrderDescending());
        foreach (var response in refused)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("rate_limited", problem.GetProperty("code").GetString());
            Assert.Equal("rpm", problem.GetProperty("limit").GetString());
            Assert.True(problem.TryGetProperty("retryAt", out _));
            Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single()), 1, 6);
            Assert.Equal("0", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }
        // Nothing queued for a refusal: ten jobs in all.
        var jobs = new TableServiceClient(azurite.ConnectionString).GetTableClient(host.JobsTable);
        Assert.Equal(10, await jobs.QueryAsync<TableEntity>(select: ["PartitionKey"]).CountAsync());
    }

    [Fact]
    public async Task Tokens_AreCorrectedToTheRealUsage_AndACacheHitCarriesTheHeadersWithoutCounting()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl, new Dictionary<string, string?>
        {
            // One request every 30 s, and a token bucket whose refill (16,667 a second) is small beside the reservation.
            ["RateLimits:PerCaller:RequestsPerMinute"] = "2",
            ["RateLimits:PerCaller:TokensPerMinute"] = "1000000",
            ["Requests:MaxOutputTokens"] = "128000",
        });
        var body = new { messages = new[] { new { role = "user", content = "cache me" } }, temperature = 0, maxTokens = 120_000 };

        using var accepted = await host.Client.SendAsync(Submit(body, "alice"));
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await host.WaitForTerminalAsync(id, "alice");
        using var hit = await host.Client.SendAsync(Submit(body, "alice"));

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var reserved = 1_000_000 - long.Parse(accepted.Headers.GetValues("x-ratelimit-remaining-tokens").Single());
        Assert.InRange(reserved, 120_000, 120_020); // the worst case: the whole output allowance and the input estimate
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("\"rpm\";q=2;w=60, \"tpm\";q=1000000;w=60;qu=\"tokens\"", hit.Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal("1", hit.Headers.GetValues("x-ratelimit-remaining-requests").Single()); // the hit admitted nothing
        // Settled to the fake's usage (18 tokens): the bucket is full again. Held at the worst case, it would show about
        // 880,000 plus the few seconds' refill since.
        Assert.InRange(long.Parse(hit.Headers.GetValues("x-ratelimit-remaining-tokens").Single()), 990_000, 1_000_000);
    }

    [Fact]
    public async Task ARoleOverride_RaisesTheLimit_AndTheAnonymousCallerHasItsOwn()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl, new Dictionary<string, string?>
        {
            ["RateLimits:PerCaller:RequestsPerMinute"] = "1",
            ["RateLimits:Roles:premium:RequestsPerMinute"] = "5",
            ["RateLimits:Anonymous:RequestsPerMinute"] = "2",
        });

        var plain = new[] { await host.Client.SendAsync(Submit(TestHost.UserMessage("a"), "bob")), await host.Client.SendAsync(Submit(TestHost.UserMessage("b"), "bob")) };
        var premium = new[]
        {
            await host.Client.SendAsync(Submit(TestHost.UserMessage("a"), "carol", "premium")),
            await host.Client.SendAsync(Submit(TestHost.UserMessage("b"), "carol", "premium")),
        };
        var anonymous = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            anonymous.Add(await host.Client.SendAsync(Submit(TestHost.UserMessage($"anon {i}"), caller: null)));
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], plain.Select(r => r.StatusCode));
        Assert.All(premium, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal("\"rpm\";q=5;w=60", premium[0].Headers.GetValues("RateLimit-Policy").Single());
        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], anonymous.Select(r => r.StatusCode));
    }

    [Fact]
    public async Task ABadRequest_StillCarriesTheCallersHeaders_AndIsNotCounted()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl,
            new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "3" });

        using var invalid = await host.Client.SendAsync(Submit(new { messages = Array.Empty<object>() }, "dave"));
        using var valid = await host.Client.SendAsync(Submit(TestHost.UserMessage("ok"), "dave"));

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("3", invalid.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("2", valid.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task OpeningAJobStream_CountsAsARequestOfTheJobsOwner_EvenByToken_AndCarriesTheHeaders()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl,
            new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "3" });

        using var submitted = await host.Client.SendAsync(Submit(TestHost.UserMessage("stream me"), "erin"));
        var streamUrl = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("streamUrl").GetString()!;
        // An EventSource sends no credentials: the token alone says whose limit the opening counts against.
        var openings = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            openings.Add(await host.Client.GetAsync(streamUrl, HttpCompletionOption.ResponseHeadersRead));
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], openings.Select(r => r.StatusCode));
        Assert.Equal(["1", "0", "0"], openings.Select(r => r.Headers.GetValues("x-ratelimit-remaining-requests").Single()));
        Assert.Equal("text/event-stream", openings[0].Content.Headers.ContentType?.MediaType);
        var problem = await openings[2].Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("rate_limited", problem.GetProperty("code").GetString());
        Assert.True(openings[2].Headers.RetryAfter?.Delta > TimeSpan.Zero);
        openings.ForEach(response => response.Dispose());
    }

    [Fact]
    public async Task TheConversationsApi_CountsEachRequestAgainstTheCallersLimit_AndCarriesTheHeaders()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        await using var host = await TestHost.StartAsync(azurite, model.BaseUrl,
            new Dictionary<string, string?> { ["RateLimits:PerCaller:RequestsPerMinute"] = "2" });

        using var created = await host.SendAsync(HttpMethod.Post, "/api/conversations", "frank", new { title = "limits" });
        using var listed = await host.SendAsync(HttpMethod.Get, "/api/conversations", "frank");
        using var refused = await host.SendAsync(HttpMethod.Get, "/api/conversations", "frank");

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.TooManyRequests],
            new[] { created, listed, refused }.Select(r => r.StatusCode));
        Assert.Equal(["1", "0", "0"], new[] { created, listed, refused }.Select(r => r.Headers.GetValues("x-ratelimit-remaining-requests").Single()));
        Assert.Equal("rate_limited", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }
}
