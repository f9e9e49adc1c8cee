using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Functions.Core.Http;

/// <summary>The RFC 9457 problem+json answers the API gives. Details never carry exception text or secrets.</summary>
public static class ApiProblems
{
    public static ValidationProblem Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request is invalid.",
            detail: "See 'errors' for every field that needs fixing.");

    public static ProblemHttpResult MalformedJson(long line, long bytePosition, string reason) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not valid JSON.",
            detail: $"{reason} (line {line}, byte {bytePosition} of that line).",
            extensions: new Dictionary<string, object?> { ["line"] = line, ["bytePositionInLine"] = bytePosition });

    public static ProblemHttpResult UnsupportedMediaType() =>
        TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type.",
            detail: "Send the body as application/json.");

    public static ProblemHttpResult NotUtf8() =>
        TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported charset.",
            detail: "Send the JSON body as UTF-8 (no charset parameter, or charset=utf-8).");

    /// <summary>The body could not be read: broken chunked framing or a cut connection (400), or an upload too slow (408).</summary>
    public static ProblemHttpResult UnreadableBody(int status) => status == StatusCodes.Status408RequestTimeout
        ? TypedResults.Problem(statusCode: status, title: "The body arrived too slowly.",
            detail: "The request body did not arrive at the minimum data rate. Send it again.")
        : TypedResults.Problem(statusCode: status is >= 400 and < 500 ? status : StatusCodes.Status400BadRequest,
            title: "The body could not be read.", detail: "The request body was malformed or cut short. Send it again.");

    public static ProblemHttpResult PayloadTooLarge(long limitBytes) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The body is too large.",
            detail: $"The body may be at most {limitBytes} bytes.",
            extensions: new Dictionary<string, object?> { ["maxBytes"] = limitBytes });

    public static ProblemHttpResult Unauthorized() =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in required.",
            detail: "This deployment does not serve anonymous callers.");

    /// <summary>Says nothing of the id: a client's input is never reflected into a message.</summary>
    public static ProblemHttpResult JobNotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such job.",
            detail: "There is no job with this id for this caller.");

    public static ProblemHttpResult RouteNotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found.",
            detail: "No endpoint answers this path. The API serves POST /api/chat, GET /api/chat/{id}, GET /api/chat/{id}/stream, POST /api/v1/chat/completions, POST and GET /api/conversations, GET and DELETE /api/conversations/{id} and GET /api/spend.");

    public static ProblemHttpResult MethodNotAllowed(IEnumerable<string> allowed) =>
        TypedResults.Problem(statusCode: StatusCodes.Status405MethodNotAllowed, title: "Method not allowed.",
            detail: $"This path answers {string.Join(", ", allowed)} only.");

    public static ProblemHttpResult IdempotencyKeyReused() =>
        TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency-Key reused.",
            detail: "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
            extensions: new Dictionary<string, object?> { ["code"] = "idempotency_key_reused" });

    /// <summary>Storage did not answer. A submit that gets this was not accepted: nothing runs, nothing is charged.</summary>
    public static ProblemHttpResult StorageUnavailable() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Storage is unavailable.",
            detail: "The backend's storage did not answer; nothing was changed. Try again shortly.");
}
