using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Http;

/// <summary>
/// Answers a request no endpoint took: 405 with <c>Allow</c> when the path is the API's with another method
/// (<c>PUT /api/chat</c>, <c>GET /api/chat/</c>), else 404; problem+json like every other 4xx, in both hosts, and
/// without echoing the path.
/// </summary>
public static class UnmatchedRouteHandler
{
    public static IResult Handle(HttpRequest request)
    {
        var allowed = ApiRoutes.MethodsFor(request.Path);
        if (allowed.Count == 0)
        {
            return ApiProblems.RouteNotFound();
        }
        return new WithHeadersResult(ApiProblems.MethodNotAllowed(allowed),
            new Dictionary<string, string> { [HeaderNames.Allow] = string.Join(", ", allowed) });
    }
}
