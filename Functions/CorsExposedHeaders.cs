using Functions.Core.Cors;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Functions;

/// <summary>
/// The platform's CORS (infra: siteConfig.cors) answers preflights and allows the origins, but it exposes no response
/// headers, so without this a browser app could not read Retry-After, Cache-Status or the rate-limit headers.
/// </summary>
internal sealed class CorsExposedHeaders : IFunctionsWorkerMiddleware
{
    private static readonly string Exposed = string.Join(", ", CorsHeaders.Exposed);

    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is { } http && http.Request.Headers.Origin.Count > 0)
        {
            http.Response.OnStarting(() =>
            {
                http.Response.Headers.AccessControlExposeHeaders = Exposed;
                return Task.CompletedTask;
            });
        }
        return next(context);
    }
}
