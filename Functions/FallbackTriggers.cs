using Functions.Core;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// Every /api request no other function's route and method take (the host ranks a catch-all route last): 404, or 405
/// with Allow, as problem+json, like Functions.Local's fallback, instead of the host's empty answer.
/// </summary>
public sealed class FallbackTriggers
{
    [Function(FunctionNames.UnmatchedRoute)]
    public IResult Unmatched(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", "head", "options",
            Route = FunctionNames.UnmatchedRouteTemplate)] HttpRequest request) =>
        UnmatchedRouteHandler.Handle(request);
}
