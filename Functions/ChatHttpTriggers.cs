using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// POST /api/chat, GET /api/chat/{id} and its stream, GET /api/chat/{id}/stream (Server-Sent Events, written while the
/// worker writes them). Authentication is App Service's (see Callers in the README), or a stream URL's token.
/// </summary>
public sealed class ChatHttpTriggers(SubmitChatHandler submit, GetChatHandler status, JobStreamHandler stream)
{
    [Function("SubmitChat")]
    public async Task<IActionResult> Submit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = JobRoutes.Submit)] HttpRequest request,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await submit.HandleAsync(request, cancellationToken));

    [Function("GetChat")]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = JobRoutes.Status)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await status.HandleAsync(request, id, cancellationToken));

    [Function("StreamChat")]
    public async Task<IActionResult> Stream(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = JobRoutes.Stream)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await stream.HandleAsync(request, id, cancellationToken));
}

/// <summary>The worker's ASP.NET Core integration executes IActionResult; Core's handlers return minimal-API IResult.</summary>
internal sealed class ResultActionResult(IResult result) : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context) => result.ExecuteAsync(context.HttpContext);
}
