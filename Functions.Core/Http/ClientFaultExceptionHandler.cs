using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Functions.Core.Http;

/// <summary>
/// The safety net for a request the server itself could not read (<see cref="BadHttpRequestException"/>: bad chunked
/// framing, a body cut short or arriving too slowly) wherever it surfaces: the client's status (400, 408, 413) as
/// problem+json, logged at Debug. A flaky mobile upload is not an error of ours and must not page anyone.
/// </summary>
public sealed partial class ClientFaultExceptionHandler(ILogger<ClientFaultExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }
        UnreadableRequest(logger, bad.StatusCode, bad.Message);
        httpContext.Response.StatusCode = bad.StatusCode;
        await ApiProblems.UnreadableBody(bad.StatusCode).ExecuteAsync(httpContext);
        return true;
    }

    [LoggerMessage(EventId = 800, Level = LogLevel.Debug, Message = "Request could not be read ({Status}): {Reason}")]
    private static partial void UnreadableRequest(ILogger logger, int status, string reason);
}
