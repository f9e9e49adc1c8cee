using Functions.Core.Conversations;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>/api/conversations: create, list, read, delete; and the queue trigger that extends a conversation's summary.</summary>
public sealed class ConversationTriggers(ConversationsHandler conversations, ConversationSummarizer summarizer)
{
    [Function("CreateConversation")]
    public async Task<IActionResult> Create(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = ConversationRoutes.Collection)] HttpRequest request,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await conversations.CreateAsync(request, cancellationToken));

    [Function("ListConversations")]
    public async Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = ConversationRoutes.Collection)] HttpRequest request,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await conversations.ListAsync(request, cancellationToken));

    [Function("GetConversation")]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = ConversationRoutes.Item)] HttpRequest request, string id,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await conversations.GetAsync(request, id, cancellationToken));

    [Function("DeleteConversation")]
    public async Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = ConversationRoutes.Item)] HttpRequest request, string id,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await conversations.DeleteAsync(request, id, cancellationToken));

    /// <summary>One attempt per request: a failed summary leaves trimming in its place, and the next turn asks again.</summary>
    [Function("SummarizeConversation")]
    public Task Summarize([QueueTrigger("%Conversations:SummaryQueue%")] string message, CancellationToken cancellationToken) =>
        summarizer.HandleAsync(message, cancellationToken);
}
