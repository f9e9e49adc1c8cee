using Functions.Core;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>POST /api/chat and GET /api/chat/{id}. Authentication is App Service's (see Callers in the README).</summary>
public sealed class ChatHttpTriggers(SubmitChatHandler submit, GetChatHandler status)
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
}
