using Functions.Core;
using Functions.Core.ChatCompletions;
using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;

namespace Functions.Local;

/// <summary>The HTTP triggers, on the routes and under the names the Functions app serves them.</summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/" + FunctionNames.RoutePrefix);
        api.MapPost("/" + FunctionNames.SubmitChatRoute,
            (HttpRequest request, SubmitChatHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken))
            .WithName(FunctionNames.SubmitChat);
        api.MapGet("/" + FunctionNames.GetChatRoute,
            (HttpRequest request, string id, GetChatHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, id, cancellationToken))
            .WithName(FunctionNames.GetChat);
        api.MapGet("/" + FunctionNames.StreamChatRoute,
            (HttpRequest request, string id, JobStreamHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, id, cancellationToken))
            .WithName(FunctionNames.StreamChat);
        api.MapPost("/" + FunctionNames.ChatCompletionsRoute,
            (HttpRequest request, ChatCompletionsHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken))
            .WithName(FunctionNames.ChatCompletions);
        return app;
    }
}
