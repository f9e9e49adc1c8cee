using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Conversations;

/// <summary>Calls to <c>/api/conversations</c> of a test host, and turns of a conversation through <c>/api/chat</c>.</summary>
public static class ConversationsClient
{
    public static Task<HttpResponseMessage> SendAsync(this TestHost host, HttpMethod method, string path, string? caller, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return host.Client.SendAsync(request);
    }

    /// <summary>Creates a conversation and returns its id from the 201.</summary>
    public static async Task<string> CreateConversationAsync(this TestHost host, string caller, string? systemPrompt = null, string? model = null)
    {
        using var response = await host.SendAsync(HttpMethod.Post, "/api/conversations", caller, new { systemPrompt, model });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal($"/api/conversations/{id}", response.Headers.Location?.OriginalString);
        return id;
    }

    public static async Task<JsonElement> GetConversationAsync(this TestHost host, string id, string caller, string query = "")
    {
        using var response = await host.SendAsync(HttpMethod.Get, $"/api/conversations/{id}{query}", caller);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static object Turn(string conversationId, string content, double? temperature = null) =>
        new { conversationId, messages = new[] { new { role = "user", content } }, temperature };

    /// <summary>Sends one turn through <c>/api/chat</c> and waits for its job to finish; returns the job as GET shows it.</summary>
    public static async Task<JsonElement> TurnAsync(this TestHost host, string conversationId, string content, string caller, double? temperature = null)
    {
        var id = await host.SubmitAcceptedAsync(Turn(conversationId, content, temperature), caller);
        return await host.WaitForTerminalAsync(id, caller);
    }

    /// <summary>Polls the conversation until its summary covers at least <paramref name="messages"/> messages.</summary>
    public static async Task<JsonElement> WaitForSummaryAsync(this TestHost host, string id, string caller, int messages)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var conversation = await host.GetConversationAsync(id, caller, "?limit=1");
            if (conversation.TryGetProperty("summary", out var summary) && summary.GetProperty("coversMessages").GetInt32() >= messages)
            {
                return conversation;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Conversation {id} has no summary covering {messages} messages after the timeout.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The messages of a request the fake model received, as (role, content).</summary>
    public static IReadOnlyList<(string Role, string Content)> Messages(RecordedCall call) =>
        [.. call.Body.GetProperty("messages").EnumerateArray()
            .Select(message => (message.GetProperty("role").GetString()!, message.GetProperty("content").GetString()!))];

    public static string Model(RecordedCall call) => call.Body.GetProperty("model").GetString()!;
}
