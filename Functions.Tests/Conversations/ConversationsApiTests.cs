using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Functions.Core.Conversations;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Conversations;

/// <summary>/api/conversations through the real host and Azurite: create, list, read, delete, and callers kept apart.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ConversationsApiTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    [Fact]
    public async Task Create_Answers201WithTheConversation_AndGetReturnsItsSettings()
    {
        using var created = await Host.SendAsync(HttpMethod.Post, "/api/conversations", "alice",
            new { systemPrompt = "You are terse.", model = "gpt-4.1-mini", title = "Trip" });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = body.GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", id);
        var read = await Host.GetConversationAsync(id, "alice");
        Assert.Equal("You are terse.", read.GetProperty("systemPrompt").GetString());
        Assert.Equal("gpt-4.1-mini", read.GetProperty("model").GetString());
        Assert.Equal("Trip", read.GetProperty("title").GetString());
        Assert.Equal(0, read.GetProperty("messageCount").GetInt32());
        Assert.Equal(0, read.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task AnotherCaller_Gets404OnEveryRoute_AndAnEmptyList()
    {
        var id = await Host.CreateConversationAsync("alice");

        using var get = await Host.SendAsync(HttpMethod.Get, $"/api/conversations/{id}", "bob");
        using var delete = await Host.SendAsync(HttpMethod.Delete, $"/api/conversations/{id}", "bob");
        using var turn = await Host.SubmitAsync(ConversationsClient.Turn(id, "hello"), "bob");
        using var list = await Host.SendAsync(HttpMethod.Get, "/api/conversations", "bob");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, turn.StatusCode);
        Assert.Equal("application/problem+json", turn.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conversations").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await Host.SendAsync(HttpMethod.Get, $"/api/conversations/{id}", "alice")).StatusCode);
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task List_IsNewestActivityFirst_InPages()
    {
        var first = await Host.CreateConversationAsync("carol");
        var second = await Host.CreateConversationAsync("carol");
        var third = await Host.CreateConversationAsync("carol");
        await Host.TurnAsync(first, "bring me back to the top", "carol"); // the oldest is now the most recently active

        using var page1 = await Host.SendAsync(HttpMethod.Get, "/api/conversations?limit=2", "carol");
        var body1 = await page1.Content.ReadFromJsonAsync<JsonElement>();
        var next = body1.GetProperty("next").GetString()!;
        using var page2 = await Host.SendAsync(HttpMethod.Get, next, "carol");
        var body2 = await page2.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal([first, third], Ids(body1));
        Assert.Equal([second], Ids(body2));
        var top = body1.GetProperty("conversations")[0];
        Assert.Equal(2, top.GetProperty("messageCount").GetInt32());
        Assert.Equal("bring me back to the top", top.GetProperty("title").GetString());
        Assert.False(body2.TryGetProperty("next", out _));
    }

    [Fact]
    public async Task Get_PagesTheMessagesOldestFirst()
    {
        var id = await Host.CreateConversationAsync("dave");
        await Host.TurnAsync(id, "one", "dave");
        await Host.TurnAsync(id, "two", "dave");

        var page1 = await Host.GetConversationAsync(id, "dave", "?limit=3");
        using var page2Response = await Host.SendAsync(HttpMethod.Get, page1.GetProperty("next").GetString()!, "dave");
        var page2 = await page2Response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(["user:one", "assistant:echo: one", "user:two"], Messages(page1));
        Assert.Equal(["assistant:echo: two"], Messages(page2));
        Assert.False(page2.TryGetProperty("next", out _));
        Assert.Equal(4, page1.GetProperty("messageCount").GetInt32());
    }

    [Fact]
    public async Task Delete_RemovesEveryRowOfTheConversation_AndASecondDeleteIs404()
    {
        var keep = await Host.CreateConversationAsync("erin");
        var id = await Host.CreateConversationAsync("erin", systemPrompt: "Be brief.");
        var job = (await Host.TurnAsync(id, "remember this", "erin")).GetProperty("id").GetString()!;
        await Host.TurnAsync(id, "and this", "erin");
        var stream = Host.Service<Functions.Core.Jobs.Streams.JobStreamTable>();
        Assert.NotEmpty(await stream.ReadAsync(job, "", CancellationToken.None)); // the worker streamed its answer

        using var deleted = await Host.SendAsync(HttpMethod.Delete, $"/api/conversations/{id}", "erin");
        using var again = await Host.SendAsync(HttpMethod.Delete, $"/api/conversations/{id}", "erin");
        using var get = await Host.SendAsync(HttpMethod.Get, $"/api/conversations/{id}", "erin");
        using var turn = await Host.SubmitAsync(ConversationsClient.Turn(id, "still there?"), "erin");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, turn.StatusCode);
        var rows = await Host.Service<ConversationTable>().Client
            .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {ConversationTable.Partition("erin")}")).ToListAsync();
        Assert.DoesNotContain(rows, row => row.RowKey.Contains(id, StringComparison.Ordinal));
        Assert.Contains(rows, row => row.RowKey == keep + "|head");
        Assert.Null(await Host.Service<Functions.Core.Jobs.JobTable>().GetAsync(job, CancellationToken.None)); // it held the history it was sent
        Assert.Empty(await stream.ReadAsync(job, "", CancellationToken.None)); // and its stream the answer
        Assert.Equal(HttpStatusCode.NotFound, (await Host.GetAsync(job, "erin")).StatusCode);
        using var list = await Host.SendAsync(HttpMethod.Get, "/api/conversations", "erin");
        Assert.Equal([keep], Ids(await list.Content.ReadFromJsonAsync<JsonElement>()));
    }

    [Theory]
    [InlineData("{\"systemPrompt\":\"\"}", "systemPrompt")]
    [InlineData("{\"systemPrompt\":42}", "systemPrompt")]
    [InlineData("{\"model\":\"gpt-5-ultra\"}", "model")]
    [InlineData("{\"title\":\"\"}", "title")]
    [InlineData("{\"sytemPrompt\":\"typo\"}", "sytemPrompt")]
    [InlineData("[]", "$")]
    public async Task Create_WithABadField_Is400NamingIt(string json, string field)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/conversations") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };

        using var response = await Host.Client.SendAsync(request);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=abc", "limit")]
    [InlineData("?cursor=%%%", "cursor")]
    public async Task List_WithABadQuery_Is400NamingIt(string query, string field)
    {
        using var response = await Host.SendAsync(HttpMethod.Get, "/api/conversations" + query, "alice");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
    }

    [Fact]
    public async Task UnknownOrMalformedIds_Are404()
    {
        using var unknown = await Host.SendAsync(HttpMethod.Get, $"/api/conversations/{Guid.NewGuid():N}", "alice");
        using var malformed = await Host.SendAsync(HttpMethod.Delete, "/api/conversations/not-an-id", "alice");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
        Assert.Equal("conversation_not_found", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    private static List<string> Ids(JsonElement list) =>
        [.. list.GetProperty("conversations").EnumerateArray().Select(item => item.GetProperty("id").GetString()!)];

    private static List<string> Messages(JsonElement conversation) =>
        [.. conversation.GetProperty("messages").EnumerateArray()
            .Select(message => $"{message.GetProperty("role").GetString()}:{message.GetProperty("content").GetString()}")];
}
