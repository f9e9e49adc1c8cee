using System.Globalization;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Spend;

/// <summary>The RFC 9457 problems of the spend feature.</summary>
public static class SpendProblems
{
    public const string BudgetExceededCode = "budget_exceeded";

    /// <summary>429 with <c>code</c>, <c>budget</c> and <c>resetsAt</c>, and <c>Retry-After</c> in seconds until the reset.</summary>
    public static IResult BudgetExceeded(BudgetExceeded exceeded, DateTimeOffset now)
    {
        var retryAfter = Math.Max(1, (long)Math.Ceiling((exceeded.ResetsAt - now).TotalSeconds));
        var problem = TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Budget exceeded.",
            detail: $"This request could cost more than the {exceeded.Budget.Name} budget has left for {exceeded.Window.Label}. " +
                    $"Nothing was queued. The budget resets at {exceeded.ResetsAt:yyyy-MM-ddTHH:mm:ssZ}.",
            extensions: new Dictionary<string, object?>
            {
                ["code"] = BudgetExceededCode,
                ["budget"] = exceeded.Budget.Name,
                ["window"] = exceeded.Window.Label,
                ["resetsAt"] = exceeded.ResetsAt,
            });
        return new WithHeadersResult(problem,
            new Dictionary<string, string> { [HeaderNames.RetryAfter] = retryAfter.ToString(CultureInfo.InvariantCulture) });
    }

    public static ProblemHttpResult NotAdmin() =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Spend is for admins only.",
            detail: "Reading spend needs the admin role or a caller id listed in Spend:AdminCallers.");
}
