using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Completions;
using Functions.Core.Conversations;
using Functions.Core.Jobs;
using Functions.Tests.ChatCompletions;
using Functions.Tests.Infrastructure;
using static Functions.Tests.Conversations.ConversationsClient;

namespace Functions.Tests.Conversations;

/// <summary>
/// Turns of a stored conversation through both doors, the real host, Azurite and the fake model: the history is added,
/// the turn appended once on success and never on failure, and two turns never interleave.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ConversationTurnsTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?> { ["Conversations:MaxMessages"] = "6" };

    [Fact]
    public async Task Turn_IsSentWithTheSystemPromptAndHistory_AndAppendedWhenTheJobSucceeds()
    {
        var id = await Host.CreateConversationAsync("alice", systemPrompt: "You are terse.");

        var first = await Host.TurnAsync(id, "My name is Ada.", "alice");
        var second = await Host.TurnAsync(id, "What is my name?", "alice");

        Assert.Equal("Succeeded", second.GetProperty("status").GetString());
        Assert.Equal(
            [("system", "You are terse."), ("user", "My name is Ada."), ("assistant", "echo: My name is Ada."), ("user", "What is my name?")],
            Messages(Model.Calls.Last()));
        Assert.Equal("gpt-4.1-mini", Model(Model.Calls.Last()));
        var view = second.GetProperty("conversation");
        Assert.Equal(id, view.GetProperty("id").GetString());
        Assert.Equal(2, view.GetProperty("historyMessages").GetInt32());
        Assert.False(view.GetProperty("summaryUsed").GetBoolean());
        Assert.True(view.GetProperty("historyTokens").GetInt32() > first.GetProperty("conversation").GetProperty("historyTokens").GetInt32());
        var conversation = await Host.GetConversationAsync(id, "alice");
        Assert.Equal(4, conversation.GetProperty("messageCount").GetInt32());
        Assert.Equal("My name is Ada.", conversation.GetProperty("title").GetString());
    }

    [Fact]
    public async Task FailedTurn_AppendsNothing_AndTheNextTurnIsAccepted()
    {
        var id = await Host.CreateConversationAsync("bob");
        Model.Enqueue(FakeReply.Error(400, "context_length_exceeded"));

        var failed = await Host.TurnAsync(id, "this one fails", "bob");
        var next = await Host.TurnAsync(id, "this one works", "bob");

        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        Assert.Equal("Succeeded", next.GetProperty("status").GetString());
        var conversation = await Host.GetConversationAsync(id, "bob");
        Assert.Equal(["this one works", "echo: this one works"],
            conversation.GetProperty("messages").EnumerateArray().Select(message => message.GetProperty("content").GetString()));
        Assert.Equal([("user", "this one works")], Messages(Model.Calls.Last()));
    }

    [Fact]
    public async Task RedeliveredJob_WhoseSuccessWasNotRecorded_AppendsOnce_AndEndsWithTheAnswerTheConversationHolds()
    {
        var id = await Host.CreateConversationAsync("carol");
        var done = await Host.TurnAsync(id, "question", "carol");
        var jobs = Host.Service<JobTable>();
        var job = (await jobs.GetAsync(done.GetProperty("id").GetString()!, CancellationToken.None))!;
        // As if the worker died after the append and before the job's success write: the job is still Queued.
        await jobs.UpdateAsync(job with { Status = JobStatus.Queued, Result = null, CompletedAt = null }, CancellationToken.None);
        Model.Enqueue(FakeReply.Completion("a second, different answer"));

        await Host.Service<ProcessChatHandler>().HandleAsync(new JobMessage(job.Id).Serialize(), CancellationToken.None);
        await Host.Service<ProcessChatHandler>().HandleAsync(new JobMessage(job.Id).Serialize(), CancellationToken.None);
        var again = await Host.Service<ConversationTurns>().AppendAsync(job);

        var redelivered = await Host.GetJobAsync(job.Id, "carol");
        Assert.Equal("Succeeded", redelivered.GetProperty("status").GetString());
        Assert.Equal("echo: question", redelivered.GetProperty("result").GetProperty("content").GetString());
        Assert.Equal("echo: question", again.Result!.Content);
        Assert.Equal(2, Model.Calls.Count); // the lost success cost a second call, recorded in the ledger, but appended nothing
        var conversation = await Host.GetConversationAsync(id, "carol");
        Assert.Equal(2, conversation.GetProperty("messageCount").GetInt32());
        Assert.Equal(2, conversation.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ConcurrentTurns_OneIsAccepted_TheOthersAre409_AndNothingInterleaves()
    {
        var id = await Host.CreateConversationAsync("dave");
        Model.Enqueue(FakeReply.Completion("slow answer") with { Delay = TimeSpan.FromSeconds(3) });

        var responses = await Task.WhenAll(Enumerable.Range(1, 5).Select(n => Host.SubmitAsync(Turn(id, $"message {n}"), "dave")));
        using var interactive = await Host.Client.SendAsync(OpenAITurn(id, "from the other door", "dave"));

        var accepted = Assert.Single(responses, response => response.StatusCode == HttpStatusCode.Accepted);
        foreach (var refused in responses.Where(response => response != accepted))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("turn_in_progress", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
        Assert.Equal(HttpStatusCode.Conflict, interactive.StatusCode);
        Assert.Equal("turn_in_progress", (await interactive.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        var job = await Host.WaitForTerminalAsync((await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, "dave");
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        var after = await Host.TurnAsync(id, "after it", "dave");
        Assert.Equal("Succeeded", after.GetProperty("status").GetString());
        var contents = (await Host.GetConversationAsync(id, "dave")).GetProperty("messages").EnumerateArray()
            .Select(message => message.GetProperty("content").GetString()!).ToList();
        Assert.Equal(4, contents.Count);
        Assert.Equal("slow answer", contents[1]);
        Assert.Equal(["after it", "echo: after it"], contents[2..]);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task OpenAIRoute_TakesTheConversationByBodyFieldOrHeader_AndSaysWhatTheHistoryCost()
    {
        var id = await Host.CreateConversationAsync("erin", systemPrompt: "Answer in French.");

        using var first = await Host.Client.SendAsync(OpenAITurn(id, "Hello", "erin"));
        using var second = await Host.Client.SendAsync(OpenAITurn(id, "And goodbye", "erin", viaHeader: true));
        var body = await second.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal([("system", "Answer in French."), ("user", "Hello"), ("assistant", "echo: Hello"), ("user", "And goodbye")],
            Messages(Model.Calls.Last()));
        var conversation = body.GetProperty("conversation");
        Assert.Equal(id, conversation.GetProperty("id").GetString());
        Assert.Equal(2, conversation.GetProperty("history_messages").GetInt32());
        Assert.False(conversation.GetProperty("summary_used").GetBoolean());
        Assert.Equal(conversation.GetProperty("history_tokens").GetInt32().ToString(), second.Headers.GetValues("x-conversation-history-tokens").Single());
        Assert.Equal("false", second.Headers.GetValues("x-conversation-summary-used").Single());
        Assert.Equal(4, (await Host.GetConversationAsync(id, "erin")).GetProperty("messageCount").GetInt32());
    }

    [Fact]
    public async Task OpenAIRoute_StreamedTurn_IsAppendedWhole()
    {
        var id = await Host.CreateConversationAsync("frank");
        Model.Enqueue(FakeReply.Completion("streamed words arrive"));

        using var response = await Host.Client.SendAsync(OpenAITurn(id, "stream please", "frank", stream: true));
        var text = ChatCompletionsClient.StreamedText(await response.Content.ReadAsStringAsync());

        Assert.Equal("streamed words arrive", text);
        Assert.Equal(id, response.Headers.GetValues("x-conversation-id").Single());
        var messages = (await Host.GetConversationAsync(id, "frank")).GetProperty("messages");
        Assert.Equal("streamed words arrive", messages[1].GetProperty("content").GetString());
    }

    [Theory]
    [InlineData("{\"conversationId\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "conversationId")]
    [InlineData("{\"conversationId\":\"{id}\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]}", "messages")]
    [InlineData("{\"conversationId\":\"{id}\",\"messages\":[{\"role\":\"system\",\"content\":\"a\"}]}", "messages")]
    [InlineData("{\"conversationId\":\"{id}\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", "tools")]
    [InlineData("{\"conversationId\":\"{id}\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"temperature\":5}", "temperature")]
    public async Task BadTurn_Is400NamingTheField(string json, string field)
    {
        var id = await Host.CreateConversationAsync("gina");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = new StringContent(json.Replace("{id}", id), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", "gina");

        using var response = await Host.Client.SendAsync(request);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
    }

    [Fact]
    public async Task UnknownConversation_Is404_AndAFullOneIs409()
    {
        using var unknown = await Host.SubmitAsync(Turn(Guid.NewGuid().ToString("N"), "hello"), "hank");
        var id = await Host.CreateConversationAsync("hank");
        for (var turn = 1; turn <= 3; turn++)
        {
            await Host.TurnAsync(id, $"turn {turn}", "hank"); // 6 messages: the cap in this host
        }

        using var full = await Host.SubmitAsync(Turn(id, "one more"), "hank");
        using var fullInteractive = await Host.Client.SendAsync(OpenAITurn(id, "one more", "hank"));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, full.StatusCode);
        var problem = await full.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("conversation_full", problem.GetProperty("code").GetString());
        Assert.Contains("6 messages", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Conflict, fullInteractive.StatusCode);
    }

    [Fact]
    public async Task IdempotentTurn_ReplaysItsJob_AfterTheConversationMovedOn()
    {
        var id = await Host.CreateConversationAsync("ivy");
        var jobId = await Host.SubmitAcceptedAsync(Turn(id, "once"), "ivy", idempotencyKey: "turn-1");
        await Host.WaitForTerminalAsync(jobId, "ivy");

        var replayed = await Host.SubmitAcceptedAsync(Turn(id, "once"), "ivy", idempotencyKey: "turn-1");
        using var reused = await Host.SubmitAsync(Turn(id, "something else"), "ivy", idempotencyKey: "turn-1");
        var next = await Host.TurnAsync(id, "next", "ivy");

        Assert.Equal(jobId, replayed);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        Assert.Equal("Succeeded", next.GetProperty("status").GetString()); // the replay did not take the conversation
        Assert.Equal(4, (await Host.GetConversationAsync(id, "ivy")).GetProperty("messageCount").GetInt32());
    }

    [Fact]
    public async Task AHoldWhoseJobHasFinished_IsTakenOver_AndAHeaderThatDisagreesWithTheBodyIs400()
    {
        var id = await Host.CreateConversationAsync("jack");
        var done = (await Host.TurnAsync(id, "first", "jack")).GetProperty("id").GetString()!;
        var table = Host.Service<ConversationTable>();
        // As if the finished job's release had failed: the hold would otherwise last until it lapses.
        var head = (await table.GetAsync("jack", id, CancellationToken.None))!;
        await table.UpdateAsync(head with { PendingTurn = done, PendingUntil = DateTimeOffset.UtcNow.AddHours(1) }, CancellationToken.None);

        var next = await Host.TurnAsync(id, "second", "jack");
        var request = OpenAITurn(id, "third", "jack");
        request.Headers.Add("X-Conversation-Id", Guid.NewGuid().ToString("N"));
        using var disagreeing = await Host.Client.SendAsync(request);

        Assert.Equal("Succeeded", next.GetProperty("status").GetString());
        Assert.Equal(4, (await Host.GetConversationAsync(id, "jack")).GetProperty("messageCount").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, disagreeing.StatusCode);
        Assert.Equal("conversation_id", (await disagreeing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
    }

    private static HttpRequestMessage OpenAITurn(string id, string content, string caller, bool viaHeader = false, bool stream = false)
    {
        object body = viaHeader
            ? new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content } }, stream }
            : new { model = "gpt-4.1-mini", messages = new[] { new { role = "user", content } }, stream, conversation_id = id };
        var request = ChatCompletionsClient.Request(body, caller);
        if (viaHeader)
        {
            request.Headers.Add("X-Conversation-Id", id);
        }
        return request;
    }
}
