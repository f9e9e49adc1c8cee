using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Routing;

/// <summary>
/// Routes and fallback through the real host and Azurite, with two loopback fakes as two endpoints: <c>primary</c>
/// (the base class's <see cref="HostedTest.Model"/>) serving gpt-4.1-mini and gpt-4.1, <c>backup</c> serving gpt-4o-mini
/// under the deployment name <c>mini-backup</c>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class RoutingEndToEndTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private FakeOpenAIServer Backup { get; set; } = null!;

    private async Task<TestHost> StartRoutedHostAsync(Dictionary<string, string?>? extra = null)
    {
        Backup = StopAfterTest(await FakeOpenAIServer.StartAsync());
        var settings = new Dictionary<string, string?>
        {
            ["OpenAI:Endpoints:0:Name"] = "primary",
            ["OpenAI:Endpoints:0:Url"] = Model.BaseUrl.ToString(),
            ["OpenAI:Endpoints:0:ApiKey"] = "primary-key",
            ["OpenAI:Endpoints:1:Name"] = "backup",
            ["OpenAI:Endpoints:1:Url"] = Backup.BaseUrl.ToString(),
            ["OpenAI:Endpoints:1:ApiKey"] = "backup-key",
            ["OpenAI:DefaultModel"] = "gpt-4.1-mini",
            ["OpenAI:AllowedModels"] = "gpt-4.1,gpt-4o-mini",
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:Endpoint"] = "primary",
            ["OpenAI:Models:1:Name"] = "gpt-4o-mini",
            ["OpenAI:Models:1:Endpoint"] = "backup",
            ["OpenAI:Models:1:Deployment"] = "mini-backup",
            ["OpenAI:Models:2:Name"] = "gpt-4.1",
            ["OpenAI:Models:2:Endpoint"] = "primary",
            ["Routing:DefaultRoute"] = "support",
            ["Routing:Routes:0:Name"] = "support",
            ["Routing:Routes:0:Models:0"] = "gpt-4.1-mini",
            ["Routing:Routes:0:Models:1"] = "gpt-4o-mini",
            ["Routing:Routes:0:FallbackOnContentFilter"] = "true",
            ["Routing:Routes:0:Rules:0:Task"] = "summarize",
            ["Routing:Routes:0:Rules:0:Models:0"] = "gpt-4o-mini",
            ["Routing:Routes:0:Rules:1:Tools"] = "true",
            ["Routing:Routes:0:Rules:1:Models:0"] = "gpt-4.1",
            ["Routing:Routes:0:Rules:1:Models:1"] = "gpt-4o-mini",
            ["Routing:Routes:0:Rules:2:Role"] = "premium",
            ["Routing:Routes:0:Rules:2:Models:0"] = "gpt-4.1",
            ["Routing:Routes:0:Rules:3:MinInputTokens"] = "500",
            ["Routing:Routes:0:Rules:3:Models:0"] = "gpt-4.1",
            ["Routing:Routes:1:Name"] = "pricey",
            ["Routing:Routes:1:Models:0"] = "gpt-4.1-mini",
            ["Routing:Routes:1:Models:1"] = "gpt-4.1",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }
        return await StartHostAsync(settings);
    }

    private static object Body(string content, string? model = null, string? task = null, bool tools = false) => new
    {
        messages = new[] { new { role = "user", content } },
        model,
        metadata = task is null ? null : new Dictionary<string, string> { ["task"] = task },
        tools = tools ? new[] { new { type = "function", function = new { name = "lookup", parameters = new { type = "object" } } } } : null,
    };

    private static readonly JsonSerializerOptions IgnoreNulls = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static async Task<(JsonElement Job, HttpResponseMessage Accepted)> RunAsync(TestHost host, object body, string? principal = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(body, options: IgnoreNulls) };
        request.Headers.Add(Core.Callers.CallerResolver.PrincipalIdHeader, "router-test");
        if (principal is not null)
        {
            request.Headers.Add(Core.Callers.PrincipalRoles.Header, principal);
        }
        var accepted = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        return (await host.WaitForTerminalAsync(id, "router-test"), accepted);
    }

    private static string Principal(string role) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new
    {
        auth_typ = "aad", claims = new[] { new { typ = "roles", val = role } },
    }));

    [Fact]
    public async Task Rules_PickTheExpectedModel_AndSayWhy()
    {
        var host = await StartRoutedHostAsync();

        var (plain, accepted) = await RunAsync(host, Body("hello"));
        var (summary, _) = await RunAsync(host, Body("summarize this", task: "summarize"));
        var (tooled, _) = await RunAsync(host, Body("look it up", tools: true));
        var (premium, _) = await RunAsync(host, Body("hello", model: "route:support"), Principal("premium"));
        var (longInput, _) = await RunAsync(host, Body(string.Join(' ', Enumerable.Repeat("word", 800))));

        Assert.Equal("support", accepted.Headers.GetValues("x-route").Single());
        Assert.Equal("gpt-4.1-mini", accepted.Headers.GetValues("x-model").Single());
        Assert.Equal("gpt-4.1-mini", plain.GetProperty("route").GetProperty("model").GetString());
        Assert.Equal("support default order", plain.GetProperty("route").GetProperty("reason").GetString());
        Assert.Equal("gpt-4o-mini", summary.GetProperty("route").GetProperty("model").GetString());
        Assert.Equal("support rule 0 (task=summarize)", summary.GetProperty("route").GetProperty("reason").GetString());
        Assert.Equal("gpt-4o-mini", summary.GetProperty("result").GetProperty("model").GetString());
        Assert.Equal("gpt-4.1", tooled.GetProperty("route").GetProperty("model").GetString());
        Assert.Equal("gpt-4.1", premium.GetProperty("route").GetProperty("model").GetString());
        Assert.Contains("role=premium", premium.GetProperty("route").GetProperty("reason").GetString());
        Assert.Contains("inputTokens>=500", longInput.GetProperty("route").GetProperty("reason").GetString());
        // The backup endpoint got the one summary, by its deployment name and with its own key.
        var backupCall = Assert.Single(Backup.Calls);
        Assert.Equal("mini-backup", backupCall.Body.GetProperty("model").GetString());
        Assert.Equal("Bearer backup-key", backupCall.Authorization);
        Assert.All(Model.Calls, call => Assert.Equal("Bearer primary-key", call.Authorization));
    }

    [Theory]
    [InlineData("route:nowhere")]
    [InlineData("gpt-5-unlisted")]
    public async Task UnknownRouteOrModel_Is400_NamingTheField(string model)
    {
        var host = await StartRoutedHostAsync();

        using var response = await host.Client.PostAsJsonAsync("/api/chat", Body("hi", model: model), IgnoreNulls);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("model", out _));
    }

    [Fact]
    public async Task PrimaryOutage_FallsBack_AndEachPaidCallIsRecordedOnceAtItsModel()
    {
        var host = await StartRoutedHostAsync(new() { ["Resilience:CircuitFailureThreshold"] = "100" });
        Model.Responder = _ => FakeReply.Error(503, "server_error", "server_error");

        var (job, _) = await RunAsync(host, Body("are you there"));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal("gpt-4o-mini", job.GetProperty("result").GetProperty("model").GetString());
        var fallback = Assert.Single(job.GetProperty("route").GetProperty("fallbacks").EnumerateArray());
        Assert.Equal("gpt-4.1-mini", fallback.GetProperty("model").GetString());
        Assert.Equal("upstream_error", fallback.GetProperty("code").GetString());
        Assert.Equal(5, Model.Calls.Count); // 1 + MaxRetries on the primary, then the backup
        Assert.Single(Backup.Calls);
        var ledger = await host.Service<SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), CancellationToken.None).ToListAsync();
        var paid = Assert.Single(ledger, entry => entry.Kind == LedgerEntry.Call);
        Assert.Equal("gpt-4o-mini", paid.Model);
        Assert.Equal("support", paid.Route);
        Assert.Equal("support default order; fell back from gpt-4.1-mini (upstream_error)", paid.RouteReason);
    }

    [Fact]
    public async Task ModelNotFound_FallsBack_AtOnce()
    {
        var host = await StartRoutedHostAsync();
        Model.Enqueue(FakeReply.Error(404, "model_not_found"));

        var (job, _) = await RunAsync(host, Body("where is it"));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Single(Model.Calls);
        Assert.Single(Backup.Calls);
        Assert.Equal("model_not_found", job.GetProperty("route").GetProperty("fallbacks")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task ContentPolicyRefusal_FallsBack_WhenTheRouteSaysSo()
    {
        var host = await StartRoutedHostAsync();
        Model.Enqueue(FakeReply.Error(400, "content_filter"));

        var (job, _) = await RunAsync(host, Body("borderline"));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Single(Backup.Calls);
        Assert.Equal("model_rejected_request", job.GetProperty("route").GetProperty("fallbacks")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task OpenCircuit_SendsLaterJobsStraightToTheFallback_AndLeavesTheOtherEndpointsJobsUntouched()
    {
        var host = await StartRoutedHostAsync(new()
        {
            ["Resilience:CircuitFailureThreshold"] = "2", ["Resilience:CircuitBreakDuration"] = "00:01:00",
        });
        Model.Responder = _ => FakeReply.Error(503, "server_error", "server_error");

        var (first, _) = await RunAsync(host, Body("first"));
        var primaryCalls = Model.Calls.Count;
        var (second, _) = await RunAsync(host, Body("second"));
        var (backupsOwn, _) = await RunAsync(host, Body("summarize", task: "summarize"));

        Assert.Equal(2, primaryCalls); // the circuit opened after two: the third call went to the backup
        Assert.Equal("Succeeded", first.GetProperty("status").GetString());
        Assert.Equal("Succeeded", second.GetProperty("status").GetString());
        Assert.Equal(primaryCalls, Model.Calls.Count); // the second job never called the open primary
        Assert.Equal("circuit_open", second.GetProperty("route").GetProperty("fallbacks")[0].GetProperty("code").GetString());
        Assert.False(backupsOwn.GetProperty("route").TryGetProperty("fallbacks", out _));
        Assert.Equal(3, Backup.Calls.Count);
    }

    [Fact]
    public async Task Fallback_ThatWouldBreakTheBudget_IsNotCalled()
    {
        var host = await StartRoutedHostAsync(new()
        {
            ["Budgets:GlobalDailyUsd"] = "0.01",
            ["Pricing:Models:0:Model"] = "gpt-4.1-mini",
            ["Pricing:Models:0:InputUsdPerMillion"] = "1",
            ["Pricing:Models:0:OutputUsdPerMillion"] = "1",
            ["Pricing:Models:1:Model"] = "gpt-4.1",
            ["Pricing:Models:1:InputUsdPerMillion"] = "1000",
            ["Pricing:Models:1:OutputUsdPerMillion"] = "1000",
        });
        Model.Responder = request => request.GetProperty("model").GetString() == "gpt-4.1-mini"
            ? FakeReply.Error(404, "model_not_found")
            : FakeReply.Completion("expensive", model: "gpt-4.1");

        var (job, _) = await RunAsync(host, new { messages = new[] { new { role = "user", content = "cheap only" } }, model = "route:pricey", maxTokens = 50 });

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        Assert.Equal("budget_exceeded", job.GetProperty("error").GetProperty("code").GetString());
        var call = Assert.Single(Model.Calls); // gpt-4.1 was never called
        Assert.Equal("gpt-4.1-mini", call.Body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task InteractiveDoor_FallsBack_AndNamesTheModelInItsHeaders()
    {
        var host = await StartRoutedHostAsync();
        Model.Responder = _ => FakeReply.Error(404, "model_not_found");

        using var response = await host.Client.PostAsJsonAsync("/api/v1/chat/completions", new
        {
            model = "route:support", messages = new[] { new { role = "user", content = "hi" } },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gpt-4o-mini", response.Headers.GetValues("x-model").Single());
        Assert.Equal("support", response.Headers.GetValues("x-route").Single());
        Assert.Single(Backup.Calls);
    }

    [Fact]
    public async Task EveryCandidateDown_ServesTheExpiredCachedAnswer_MarkedStale_WhenTheRouteOptsIn()
    {
        var host = await StartRoutedHostAsync(new()
        {
            ["Routing:Routes:0:StaleIfError"] = "true", ["Cache:DefaultTtl"] = "00:00:01", ["Cache:LocalTtl"] = "00:00:00",
            ["Resilience:MaxRetries"] = "1",
        });
        var body = new { messages = new[] { new { role = "user", content = "capital of France?" } }, temperature = 0 };
        var (fresh, _) = await RunAsync(host, body);
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // past the answer's one-second TTL: it may no longer be served fresh
        Model.Responder = _ => FakeReply.Error(503, "server_error", "server_error");
        Backup.Responder = _ => FakeReply.Error(503, "server_error", "server_error");

        var (stale, _) = await RunAsync(host, body);

        Assert.Equal("Succeeded", stale.GetProperty("status").GetString());
        Assert.True(stale.GetProperty("result").GetProperty("stale").GetBoolean());
        Assert.Equal(fresh.GetProperty("result").GetProperty("content").GetString(), stale.GetProperty("result").GetProperty("content").GetString());
        Assert.False(fresh.GetProperty("result").TryGetProperty("stale", out _));
        Assert.Equal(2, Backup.Calls.Count); // the fallback was tried (1 + MaxRetries) before the stale answer
        using var status = await host.GetAsync(stale.GetProperty("id").GetString()!, "router-test");
        Assert.Contains("fwd=stale", status.Headers.GetValues("Cache-Status").Single());
    }

    [Fact]
    public async Task OfflineModel_PlaysBothEndpoints_AndAScriptedOutageFallsBack()
    {
        var host = await StartHostAsync(new Dictionary<string, string?>
        {
            ["OpenAI:Endpoints:0:Name"] = "azure",
            ["OpenAI:Endpoints:1:Name"] = "openai",
            ["OfflineModel:Down"] = "azure",
            ["OfflineModel:ChunkDelay"] = "00:00:00",
            ["OpenAI:AllowedModels"] = "gpt-4o-mini",
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:Endpoint"] = "azure",
            ["OpenAI:Models:1:Name"] = "gpt-4o-mini",
            ["OpenAI:Models:1:Endpoint"] = "openai",
            ["Routing:DefaultRoute"] = "chat",
            ["Routing:Routes:0:Name"] = "chat",
            ["Routing:Routes:0:Models:0"] = "gpt-4.1-mini",
            ["Routing:Routes:0:Models:1"] = "gpt-4o-mini",
            ["Resilience:MaxRetries"] = "1",
        });

        var (job, _) = await RunAsync(host, Body("hello offline"));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.StartsWith("[offline model as openai, gpt-4o-mini]", job.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal("gpt-4.1-mini", job.GetProperty("route").GetProperty("fallbacks")[0].GetProperty("model").GetString());
        Assert.Empty(Model.Calls); // the test's own fake was never the model
    }

    [Fact]
    public async Task InfraShapedSettings_WithTheFallbackSlotLeftEmpty_RunAsOneEndpoint()
    {
        var host = await StartHostAsync(new Dictionary<string, string?>
        {
            ["OpenAI:Endpoints:0:Name"] = "primary",
            ["OpenAI:Endpoints:0:Url"] = Model.BaseUrl.ToString(),
            ["OpenAI:Endpoints:0:ApiKey"] = "primary-key",
            ["OpenAI:Endpoints:1:Name"] = "",
            ["OpenAI:Endpoints:1:Url"] = "",
            ["OpenAI:Endpoints:1:KeyVaultSecret"] = "",
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:Endpoint"] = "primary",
            ["OpenAI:Models:0:Deployment"] = "",
            ["OpenAI:Models:1:Name"] = "",
            ["OpenAI:Models:1:Endpoint"] = "",
            ["Routing:DefaultRoute"] = "",
            ["Routing:Routes:0:Name"] = "",
            ["Routing:Routes:0:Models:0"] = "",
            ["Routing:Routes:0:Models:1"] = "",
        });

        var (job, accepted) = await RunAsync(host, Body("one endpoint"));

        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal("gpt-4.1-mini", accepted.Headers.GetValues("x-model").Single());
        Assert.False(accepted.Headers.Contains("x-route"));
        Assert.Equal("Bearer primary-key", Assert.Single(Model.Calls).Authorization);
    }
}
