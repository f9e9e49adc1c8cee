using System.Globalization;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Jobs.Streams;

/// <summary>The problem+json answers particular to job streams.</summary>
public static class JobStreamProblems
{
    /// <summary>How long a caller at its open-stream limit should wait: streams typically last seconds to minutes.</summary>
    public static readonly TimeSpan TooManyRetryAfter = TimeSpan.FromSeconds(5);

    public static IResult InvalidToken() =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "The stream token is not valid.",
            detail: "The token in this stream URL has expired or is not one this service issued for this job. " +
                    "Get a fresh streamUrl from GET /api/chat/{id}, or send the request with its caller's credentials instead.",
            extensions: new Dictionary<string, object?> { ["code"] = "stream_token_invalid" });

    public static IResult TooManyOpen(int limit) =>
        new WithHeadersResult(
            TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many open streams.",
                detail: $"This caller already holds {limit} open job streams, the most allowed. Close one, or try again later (Retry-After).",
                extensions: new Dictionary<string, object?> { ["code"] = "too_many_streams", ["limit"] = limit }),
            new Dictionary<string, string>
            {
                [HeaderNames.RetryAfter] = ((long)TooManyRetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            });
}
