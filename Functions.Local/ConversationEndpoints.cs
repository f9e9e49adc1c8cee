using Functions.Core;
using Functions.Core.Conversations;

namespace Functions.Local;

/// <summary>The conversations API's HTTP triggers, on the routes and under the names the Functions app serves them.</summary>
public static class ConversationEndpoints
{
    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + FunctionNames.RoutePrefix);
        api.MapPost("/" + FunctionNames.ConversationsRoute,
            (HttpRequest request, ConversationsHandler handler, CancellationToken cancellationToken) => handler.CreateAsync(request, cancellationToken))
            .WithName(FunctionNames.CreateConversation);
        api.MapGet("/" + FunctionNames.ConversationsRoute,
            (HttpRequest request, ConversationsHandler handler, CancellationToken cancellationToken) => handler.ListAsync(request, cancellationToken))
            .WithName(FunctionNames.ListConversations);
        api.MapGet("/" + FunctionNames.ConversationRoute,
            (HttpRequest request, string id, ConversationsHandler handler, CancellationToken cancellationToken) =>
                handler.GetAsync(request, id, cancellationToken))
            .WithName(FunctionNames.GetConversation);
        api.MapDelete("/" + FunctionNames.ConversationRoute,
            (HttpRequest request, string id, ConversationsHandler handler, CancellationToken cancellationToken) =>
                handler.DeleteAsync(request, id, cancellationToken))
            .WithName(FunctionNames.DeleteConversation);
        return app;
    }
}
