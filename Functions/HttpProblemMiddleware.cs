using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Functions;

/// <summary>
/// An exception that escapes an HTTP trigger answers 500 problem+json with no stack trace, written by the same
/// <see cref="IProblemDetailsService"/> as Functions.Local's <c>UseExceptionHandler</c>; without this the Functions host
/// answers an empty 500. Other triggers rethrow untouched: a queue trigger's throw is what drives redelivery.
/// </summary>
public sealed partial class HttpProblemMiddleware(ILogger<HttpProblemMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (context.GetHttpContext() is { Response.HasStarted: false } http)
        {
            Failed(logger, exception, context.FunctionDefinition.Name);
            http.Response.Clear();
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            // What ASP.NET Core's exception handler sends with it, so no proxy or browser caches the failure.
            http.Response.Headers.CacheControl = "no-cache,no-store";
            http.Response.Headers.Pragma = "no-cache";
            http.Response.Headers.Expires = "-1";
            await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = http,
                Exception = exception,
                ProblemDetails = { Status = StatusCodes.Status500InternalServerError },
            });
        }
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Error, Message = "HTTP trigger {Function} failed; answered 500 problem+json")]
    private static partial void Failed(ILogger logger, Exception exception, string function);
}
