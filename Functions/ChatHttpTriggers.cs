using Functions.Core;
using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// POST /api/chat, GET /api/chat/{id} and GET /api/chat/{id}/stream (Server-Sent Events, written while the
/// worker writes them). Authentication is App Service's (see Callers in the README), or a stream URL's token.
/// </summary>
public sealed class ChatHttpTriggers(SubmitChatHandler submit, GetChatHandler status, JobStreamHandler stream)
{
    [Function(FunctionNames.SubmitChat)]
    public async Task<IResult> Submit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = FunctionNames.SubmitChatRoute)] HttpRequest request,
        CancellationToken cancellationToken) =>
        await submit.HandleAsync(request, cancellationToken);

    [Function(FunctionNames.GetChat)]
    public async Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = FunctionNames.GetChatRoute)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        await status.HandleAsync(request, id, cancellationToken);

    [Function(FunctionNames.StreamChat)]
    public async Task<IResult> Stream(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = FunctionNames.StreamChatRoute)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        await stream.HandleAsync(request, id, cancellationToken);
}
