using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Functions.Core;
using Functions.Core.Callers;
using Functions.Core.Requests;
using Functions.Tests.ChatCompletions;
using Functions.Tests.Infrastructure;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Tests.App;

/// <summary>
/// The Azure Functions app through its real worker wiring: its Program.cs builds the host, its start-up validation runs,
/// the worker's activator creates every function class and each trigger runs against Azurite and the loopback model.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FunctionsAppTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    [Fact]
    public async Task EveryFunctionInTheMetadata_IsActivatedByTheWorkersActivator()
    {
        var app = await StartFunctionsAppAsync();
        var activator = app.Services.GetRequiredService<IFunctionActivator>();

        Assert.NotEmpty(app.Functions);
        Assert.All(app.Functions, function =>
        {
            var typeName = function.EntryPoint[..function.EntryPoint.LastIndexOf('.')];
            var type = typeof(global::Functions.ChatHttpTriggers).Assembly.GetType(typeName, throwOnError: true)!;
            using var scope = app.Services.CreateScope();
            Assert.IsType(type, activator.CreateInstance(type, new WorkerFunctionContext(function, scope.ServiceProvider, default)));
        });
    }

    [Fact]
    public void StartUpValidation_RejectsABadSetting_NamingIt()
    {
        var settings = TestSettings.For(Azurite, Model.BaseUrl, new Dictionary<string, string?> { ["Storage:ChatQueue"] = "Not_A_Queue" });
        using var app = FunctionsAppHost.Build(settings).Host;

        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Storage:ChatQueue", error.Message);
    }

    [Fact]
    public async Task SubmitChat_ThenProcessChatWithTheRealQueueMessage_ThenGetChat_AnswersTheModelsReply()
    {
        Model.Enqueue(FakeReply.Completion("Paris.", model: "gpt-4.1-mini-2025-04-14"));
        var queueName = AzuriteFixture.UniqueName("appchat");
        var app = await StartFunctionsAppAsync(new Dictionary<string, string?> { ["Storage:ChatQueue"] = queueName });

        using var accepted = await app.SendAsync(Post("/api/chat", TestHost.UserMessage("Capital of France?")));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var message = await ReceiveAsync(queueName);
        await app.InvokeQueueAsync(FunctionNames.ProcessChat, message);
        using var status = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}"));

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var job = await status.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.Equal("Paris.", job.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal("Capital of France?", Assert.Single(Model.Calls).LastMessage);
    }

    [Fact]
    public async Task ChatCompletionsTrigger_StreamsEachDelta_TheUsageChunk_AndDone_AndRecordsTheUpstreamUsage()
    {
        Model.Enqueue(FakeReply.Completion("one two three four", promptTokens: 21, completionTokens: 4, model: "gpt-4.1-mini"));
        var app = await StartFunctionsAppAsync();

        using var response = await app.SendAsync(ChatCompletionsClient.Request(
            ChatCompletionsClient.User("stream it", stream: true, includeUsage: true), caller: "bob"));
        var body = await response.Content.ReadAsStringAsync();
        var events = ChatCompletionsClient.Events(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("one two three four", ChatCompletionsClient.StreamedText(body));
        Assert.Equal(4, events.Count(data => data.Contains("\"content\":\"") && !data.Contains("\"content\":\"\"")));
        Assert.Equal(21, JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("[DONE]", events[^1]);
        var calls = new List<Core.Spend.LedgerEntry>();
        await foreach (var entry in app.Services.GetRequiredService<Core.Spend.SpendLedger>().ReadDayAsync(DateOnly.FromDateTime(DateTime.UtcNow), default))
        {
            calls.Add(entry);
        }
        var call = Assert.Single(calls, entry => entry.Kind == Core.Spend.LedgerEntry.Call && entry.Caller == "bob");
        Assert.Equal(new Core.Jobs.TokenUsage(21, 0, 4), call.Usage);
    }

    [Fact]
    public async Task ProcessChatPoison_EndsTheJobFailed()
    {
        var queueName = AzuriteFixture.UniqueName("apppoison");
        var app = await StartFunctionsAppAsync(new Dictionary<string, string?> { ["Storage:ChatQueue"] = queueName });
        using var accepted = await app.SendAsync(Post("/api/chat", TestHost.UserMessage("never answered")));
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        await app.InvokeQueueAsync(FunctionNames.ProcessChatPoison, await ReceiveAsync(queueName));

        using var status = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}"));
        Assert.Equal("Failed", (await status.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task SpendRollupTimer_RollsTheLedgerUp_ForGetSpend_AndSweepCacheTimerRuns()
    {
        Model.Enqueue(FakeReply.Completion("ok", promptTokens: 1000, completionTokens: 500, model: "gpt-4.1-mini-2025-04-14"));
        var queueName = AzuriteFixture.UniqueName("appspend");
        var app = await StartFunctionsAppAsync(new Dictionary<string, string?>
        {
            ["Storage:ChatQueue"] = queueName,
            ["Spend:AdminCallers"] = "ops",
        });
        using var accepted = await app.SendAsync(Post("/api/chat", TestHost.UserMessage("hello"), caller: "alice"));
        await app.InvokeQueueAsync(FunctionNames.ProcessChat, await ReceiveAsync(queueName));

        await app.InvokeTimerAsync(FunctionNames.SpendRollup);
        await app.InvokeTimerAsync(FunctionNames.SweepCache);

        var report = new HttpRequestMessage(HttpMethod.Get, "/api/spend?by=caller");
        report.Headers.Add(CallerResolver.PrincipalIdHeader, "ops");
        using var spend = await app.SendAsync(report);
        Assert.Equal(HttpStatusCode.OK, spend.StatusCode);
        Assert.Contains("alice", await spend.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnexpectedExceptionInAnHttpTrigger_Answers500ProblemJson_WithoutTheException()
    {
        var app = await StartFunctionsAppAsync(services: services =>
            services.AddSingleton<ChatRequestReader>(_ => throw new InvalidOperationException("secret internals")));

        using var response = await app.SendAsync(Post("/api/chat", TestHost.UserMessage("hi")));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(500, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain("secret internals", body);
        Assert.DoesNotContain("InvalidOperationException", body);
        Assert.DoesNotContain(" at ", body);
    }

    [Fact]
    public async Task Telemetry_IsOpenTelemetry_WithNoClassicApplicationInsightsFilter()
    {
        var app = await StartFunctionsAppAsync();

        // Core's wiring: spans, metrics and logs through the OpenTelemetry SDK (Azure Monitor is added in Azure, where
        // APPLICATIONINSIGHTS_CONNECTION_STRING is set); the classic SDK and its Warning-only log rule are gone.
        Assert.NotNull(app.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
        Assert.NotNull(app.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
        var rules = app.Services.GetRequiredService<IOptions<LoggerFilterOptions>>().Value.Rules;
        Assert.DoesNotContain(rules, rule => rule.ProviderName?.Contains("ApplicationInsights", StringComparison.Ordinal) == true);
    }

    private static HttpRequestMessage Post(string path, object body, string? caller = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return request;
    }

    /// <summary>The message the submit enqueued, decoded from Base64 as the Functions host hands it to the trigger.</summary>
    private async Task<string> ReceiveAsync(string queueName)
    {
        var queue = new QueueClient(Azurite.ConnectionString, queueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var message = Assert.Single((await queue.ReceiveMessagesAsync(1)).Value);
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
        return message.Body.ToString();
    }
}
