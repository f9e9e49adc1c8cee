using Functions.Core.Conversations;

namespace Functions.Local;

/// <summary>The conversations API's HTTP triggers, on the routes the Functions app serves.</summary>
public static class ConversationEndpoints
{
    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapPost("/" + ConversationRoutes.Collection,
            (HttpRequest request, ConversationsHandler handler, CancellationToken cancellationToken) => handler.CreateAsync(request, cancellationToken));
        api.MapGet("/" + ConversationRoutes.Collection,
            (HttpRequest request, ConversationsHandler handler, CancellationToken cancellationToken) => handler.ListAsync(request, cancellationToken));
        api.MapGet("/" + ConversationRoutes.Item,
            (HttpRequest request, string id, ConversationsHandler handler, CancellationToken cancellationToken) =>
                handler.GetAsync(request, id, cancellationToken));
        api.MapDelete("/" + ConversationRoutes.Item,
            (HttpRequest request, string id, ConversationsHandler handler, CancellationToken cancellationToken) =>
                handler.DeleteAsync(request, id, cancellationToken));
        return app;
    }
}
