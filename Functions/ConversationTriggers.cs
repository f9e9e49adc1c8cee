using Functions.Core;
using Functions.Core.Conversations;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>/api/conversations: create, list, read, delete; and the queue trigger that extends a conversation's summary.</summary>
public sealed class ConversationTriggers(ConversationsHandler conversations, ConversationSummarizer summarizer)
{
    [Function(FunctionNames.CreateConversation)]
    public Task<IResult> Create(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = FunctionNames.ConversationsRoute)] HttpRequest request,
        CancellationToken cancellationToken) => conversations.CreateAsync(request, cancellationToken);

    [Function(FunctionNames.ListConversations)]
    public Task<IResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = FunctionNames.ConversationsRoute)] HttpRequest request,
        CancellationToken cancellationToken) => conversations.ListAsync(request, cancellationToken);

    [Function(FunctionNames.GetConversation)]
    public Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = FunctionNames.ConversationRoute)] HttpRequest request, string id,
        CancellationToken cancellationToken) => conversations.GetAsync(request, id, cancellationToken);

    [Function(FunctionNames.DeleteConversation)]
    public Task<IResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = FunctionNames.ConversationRoute)] HttpRequest request, string id,
        CancellationToken cancellationToken) => conversations.DeleteAsync(request, id, cancellationToken);

    /// <summary>One attempt per request: a failed summary leaves trimming in its place, and the next turn asks again.</summary>
    [Function(FunctionNames.SummarizeConversation)]
    public Task Summarize([QueueTrigger(FunctionNames.SummaryQueue)] string message, CancellationToken cancellationToken) =>
        summarizer.HandleAsync(message, cancellationToken);
}
