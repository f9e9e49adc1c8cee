using Functions.Core.Jobs;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>POST /api/chat and GET /api/chat/{id}. Authentication is App Service's (see Callers in the README).</summary>
public sealed class ChatHttpTriggers(SubmitChatHandler submit, GetChatHandler status)
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
}

/// <summary>The worker's ASP.NET Core integration executes IActionResult; Core's handlers return minimal-API IResult.</summary>
internal sealed class ResultActionResult(IResult result) : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context) => result.ExecuteAsync(context.HttpContext);
}
