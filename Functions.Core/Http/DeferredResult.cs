using Microsoft.AspNetCore.Http;

namespace Functions.Core.Http;

/// <summary>
/// A result whose work runs when the host executes it, with the response open: how a handler streams (an SSE body
/// written as events arrive) through either host, minimal API or a Functions HTTP trigger's IActionResult.
/// </summary>
public sealed class DeferredResult(Func<HttpContext, Task> execute) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext) => execute(httpContext);
}
