using System.Globalization;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.ChatCompletions;

/// <summary>An error as OpenAI's API writes it, which the official SDKs parse and raise: <c>{"error":{message,type,param,code}}</c>.</summary>
public sealed record OpenAIError(string Message, string Type, string? Param, string? Code);

/// <summary>
/// The errors of the OpenAI-compatible door. Every problem the shared guards answer with (validation, size, media
/// type, budget, storage) is turned into this shape here, with the same status and headers, so the door applies the
/// very same rules as <c>/api/chat</c> and only speaks another dialect.
/// </summary>
public static class OpenAIErrors
{
    public const string InvalidRequest = "invalid_request_error";

    /// <summary>Tells the official SDKs not to retry: their default retries 429s, which a closed budget only repeats.</summary>
    public const string ShouldRetryHeader = "x-should-retry";

    public static IResult Invalid(string? param, string message, string? code = null) =>
        Json(StatusCodes.Status400BadRequest, new OpenAIError(message, InvalidRequest, param, code));

    public static IResult Json(int status, OpenAIError error, IReadOnlyDictionary<string, string>? headers = null)
    {
        var result = TypedResults.Json(new { error }, statusCode: status);
        return headers is null ? result : new WithHeadersResult(result, headers);
    }

    /// <summary>The same answer as <paramref name="problem"/> (status, headers, which field and why), in OpenAI's shape.</summary>
    public static IResult FromProblem(IResult problem, Func<string, string>? wireName = null)
    {
        var headers = new Dictionary<string, string>();
        while (problem is WithHeadersResult wrapped)
        {
            foreach (var (name, value) in wrapped.Headers)
            {
                headers[name] = value;
            }
            problem = wrapped.Inner;
        }

        var details = problem switch
        {
            ValidationProblem validation => validation.ProblemDetails,
            ProblemHttpResult plain => plain.ProblemDetails,
            _ => null,
        };
        var status = details?.Status ?? StatusCodes.Status500InternalServerError;
        var code = details?.Extensions.TryGetValue("code", out var extension) == true ? extension?.ToString() : null;

        string? param = null;
        var message = details?.Detail ?? details?.Title ?? "The request failed.";
        if (details is Microsoft.AspNetCore.Http.HttpValidationProblemDetails { Errors.Count: > 0 } invalid)
        {
            // One field at a time, as OpenAI does; the message lists the rest so nothing is hidden.
            var fields = invalid.Errors.Select(error => (Field: wireName?.Invoke(error.Key) ?? error.Key, Message: string.Join(" ", error.Value)))
                .ToList();
            param = fields[0].Field == "$" ? null : fields[0].Field;
            message = string.Join(" ", fields.Select(field => field.Field == "$" ? field.Message : $"{field.Field}: {field.Message}"));
        }

        var type = status switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status429TooManyRequests => code ?? "rate_limit_error",
            >= 500 => "server_error",
            _ => InvalidRequest,
        };
        if (code == Spend.SpendProblems.BudgetExceededCode)
        {
            headers[ShouldRetryHeader] = "false";
        }
        return Json(status, new OpenAIError(message, type, param, code), headers.Count == 0 ? null : headers);
    }

    /// <summary>The model could not be reached in time to answer (gate closed, circuit open, retries spent): try later.</summary>
    public static IResult UpstreamUnavailable(string message, TimeSpan? retryAfter) =>
        Json(StatusCodes.Status503ServiceUnavailable, new OpenAIError(message, "server_error", null, "upstream_unavailable"),
            retryAfter is { } wait
                ? new Dictionary<string, string>
                {
                    [HeaderNames.RetryAfter] = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
                }
                : null);

    /// <summary>The model's upstream limits have no slot within the door's wait (see <c>UpstreamPacer</c>): 429 with Retry-After.</summary>
    public const string UpstreamRateLimited = "upstream_rate_limited";

    /// <summary>A failure the model call ended in, with the status a client should see (a permanent upstream refusal is 502).</summary>
    public static IResult FromModelFailure(Completions.ModelCallException error, TimeSpan? retryAfter) => error switch
    {
        { Code: UpstreamRateLimited } => Json(StatusCodes.Status429TooManyRequests, new OpenAIError(error.Message, "rate_limit_error", null, error.Code),
            new Dictionary<string, string>
            {
                [HeaderNames.RetryAfter] = Math.Max(1, (long)Math.Ceiling((retryAfter ?? TimeSpan.Zero).TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            }),
        { IsTransient: true } => UpstreamUnavailable(error.Message, retryAfter),
        { Code: "model_rejected_request" } => Json(StatusCodes.Status400BadRequest, Of(error)),
        _ => Json(StatusCodes.Status502BadGateway, Of(error)),
    };

    public static OpenAIError Of(Completions.ModelCallException error) =>
        new(error.Message, error.IsTransient ? "server_error" : "upstream_error", null, error.Code);
}
