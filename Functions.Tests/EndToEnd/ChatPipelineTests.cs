using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.EndToEnd;

/// <summary>Submit → queue → model → poll, through Kestrel, Azurite and a loopback OpenAI-compatible server.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ChatPipelineTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    [Fact]
    public async Task Submit_ThenPoll_ReachesSucceededWithTheModelsContentAndUsage()
    {
        Model.Enqueue(FakeReply.Completion("Paris is the capital of France.", promptTokens: 21, completionTokens: 8, cachedTokens: 5,
            model: "gpt-4.1-mini-2025-04-14"));

        using var response = await Host.SubmitAsync(new
        {
            messages = new object[]
            {
                new { role = "system", content = "Answer briefly." },
                new { role = "user", content = "Capital of France?" },
            },
            temperature = 0.2,
            maxTokens = 50,
        });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = accepted.GetProperty("id").GetString()!;
        Assert.Equal("Queued", accepted.GetProperty("status").GetString());
        Assert.Equal($"/api/chat/{id}", accepted.GetProperty("statusUrl").GetString());
        Assert.Equal($"/api/chat/{id}", response.Headers.Location?.OriginalString);
        Assert.NotNull(response.Headers.RetryAfter);

        var job = await Host.WaitForTerminalAsync(id);
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        var result = job.GetProperty("result");
        Assert.Equal("Paris is the capital of France.", result.GetProperty("content").GetString());
        Assert.Equal("gpt-4.1-mini-2025-04-14", result.GetProperty("model").GetString());
        Assert.Equal("stop", result.GetProperty("finishReason").GetString());
        Assert.Equal(21, result.GetProperty("usage").GetProperty("inputTokens").GetInt32());
        Assert.Equal(5, result.GetProperty("usage").GetProperty("cachedInputTokens").GetInt32());
        Assert.Equal(8, result.GetProperty("usage").GetProperty("outputTokens").GetInt32());
        Assert.True(job.GetProperty("completedAt").GetDateTimeOffset() >= job.GetProperty("createdAt").GetDateTimeOffset());
        Assert.False(job.TryGetProperty("error", out _));

        // What the model received: the messages, the default model, the parameters and the configured key.
        var call = Assert.Single(Model.Calls);
        Assert.Equal("Bearer test-key", call.Authorization);
        Assert.Equal("gpt-4.1-mini", call.Body.GetProperty("model").GetString());
        Assert.Equal(2, call.Body.GetProperty("messages").GetArrayLength());
        Assert.Equal("Capital of France?", call.Body.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Equal(0.2, call.Body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(50, call.Body.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task ModelAnswers401_JobFailsWithUnauthorizedCode_AndIsNotRetried()
    {
        Model.Enqueue(FakeReply.Error(401, "invalid_api_key", "invalid_request_error"));

        var id = await Host.SubmitAcceptedAsync(TestHost.UserMessage("hello"));
        var job = await Host.WaitForTerminalAsync(id);

        Assert.Equal("Failed", job.GetProperty("status").GetString());
        var error = job.GetProperty("error");
        Assert.Equal("model_unauthorized", error.GetProperty("code").GetString());
        Assert.Contains("401", error.GetProperty("message").GetString());
        Assert.False(job.TryGetProperty("result", out _));
        Assert.Single(Model.Calls);
    }

    [Fact]
    public async Task AnotherCaller_CannotReadTheJob_Gets404()
    {
        var id = await Host.SubmitAcceptedAsync(TestHost.UserMessage("mine"), caller: "alice");

        using var asBob = await Host.GetAsync(id, caller: "bob");
        using var asAnonymous = await Host.GetAsync(id);
        var asAlice = await Host.WaitForTerminalAsync(id, caller: "alice");

        Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
        Assert.Equal("application/problem+json", asBob.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, asAnonymous.StatusCode);
        Assert.Equal("Succeeded", asAlice.GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnknownOrMalformedId_Gets404()
    {
        using var unknown = await Host.GetAsync(Guid.CreateVersion7().ToString("N"));
        using var malformed = await Host.GetAsync("not-a-job-id");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
    }

    [Theory]
    [InlineData("text/plain", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 415)]
    [InlineData("application/json", "{\"messages\":[{\"role\":\"user\",", 400)]
    [InlineData("application/json", "{\"messages\":[]}", 400)]
    public async Task BadInput_OverHttp_IsProblemJsonWithItsStatus_AndQueuesNothing(string contentType, string body, int status)
    {
        using var response = await Host.Client.PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task BodyOverTheLimit_Gets413()
    {
        var huge = new string('x', 300 * 1024);
        using var response = await Host.Client.PostAsync("/api/chat",
            new StringContent($"{{\"messages\":[{{\"role\":\"user\",\"content\":\"{huge}\"}}]}}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
