using Functions.Core.ChatCompletions;
using Functions.Core.Jobs;
using Functions.Core.Requests;

namespace Functions.Local;

/// <summary>The HTTP triggers, on the routes the Functions app serves (<c>/api</c> is the host's default prefix).</summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapPost("/" + JobRoutes.Submit,
            (HttpRequest request, SubmitChatHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken));
        api.MapGet("/" + JobRoutes.Status,
            (HttpRequest request, string id, GetChatHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, id, cancellationToken));
        api.MapPost("/" + ChatCompletionRoutes.Completions,
            (HttpRequest request, ChatCompletionsHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken));
        return app;
    }
}
