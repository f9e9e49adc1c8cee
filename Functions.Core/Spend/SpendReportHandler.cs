using System.Globalization;
using Functions.Core.Callers;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;

namespace Functions.Core.Spend;

/// <summary>The spend report: totals over the range and, per caller or model, per day.</summary>
public sealed record SpendReport(
    DateOnly From,
    DateOnly To,
    string By,
    SpendTotals Total,
    IReadOnlyList<SpendGroup> Groups,
    DateOnly? FinalThrough,
    DateTimeOffset? RolledUpAt);

public sealed record SpendGroup(string Key, SpendTotals Total, IReadOnlyList<SpendDay> Days);

public sealed record SpendDay(DateOnly Day, SpendTotals Totals);

/// <summary>
/// <c>GET /api/spend?from=yyyy-MM-dd&amp;to=yyyy-MM-dd&amp;by=caller|model</c>: the daily rollups, for admins only.
/// <c>to</c> defaults to today (UTC), <c>from</c> to 30 days before <c>to</c>, <c>by</c> to caller. Days after
/// <see cref="SpendReport.FinalThrough"/> are as of the last rollup (<see cref="SpendReport.RolledUpAt"/>).
/// </summary>
public sealed class SpendReportHandler(CallerResolver callers, SpendAdmins admins, SpendRollups rollups, TimeProvider time)
{
    public const string Route = "spend";
    public const int MaxDays = 366;
    private const string DateFormat = "yyyy-MM-dd";

    public async Task<IResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (callers.Resolve(request) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        if (!admins.IsAdmin(request, caller))
        {
            return SpendProblems.NotAdmin();
        }

        var errors = new Dictionary<string, string[]>();
        var to = ReadDate(request.Query, "to", errors) ?? SpendKeys.DayOf(time.GetUtcNow());
        var from = ReadDate(request.Query, "from", errors) ?? (to > DateOnly.MinValue.AddDays(29) ? to.AddDays(-29) : DateOnly.MinValue);
        var by = request.Query["by"].ToString() is { Length: > 0 } value ? value : "caller";
        if (by is not ("caller" or "model"))
        {
            errors["by"] = ["Must be 'caller' or 'model'."];
        }
        if (errors.Count == 0 && from > to)
        {
            errors["from"] = ["Must not be after 'to'."];
        }
        if (errors.Count == 0 && to.DayNumber - from.DayNumber + 1 > MaxDays)
        {
            errors["to"] = [$"The range may span at most {MaxDays} days (got {to.DayNumber - from.DayNumber + 1})."];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Validation(errors);
        }

        var rows = await rollups.ReadAsync(from, to, cancellationToken);
        var watermark = await rollups.GetWatermarkAsync(cancellationToken);
        var groups = rows.Where(row => !row.IsDayTotal)
            .GroupBy(row => by == "caller" ? row.Caller! : row.Model!, StringComparer.Ordinal)
            .Select(group => new SpendGroup(group.Key, Sum(group),
                [.. group.GroupBy(row => row.Day).Select(day => new SpendDay(day.Key, Sum(day))).OrderBy(day => day.Day)]))
            .OrderByDescending(group => group.Total.CostMicros).ThenBy(group => group.Key, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(new SpendReport(from, to, by, Sum(rows.Where(row => row.IsDayTotal)), groups,
            watermark?.ClosedThrough, watermark?.LastRunAt));
    }

    private static SpendTotals Sum(IEnumerable<RollupRow> rows) => rows.Aggregate(SpendTotals.Zero, (sum, row) => sum.Add(row.Totals));

    private static DateOnly? ReadDate(IQueryCollection query, string name, Dictionary<string, string[]> errors)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (DateOnly.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }
        errors[name] = [$"Must be a date as {DateFormat} (got '{(text.Length > 40 ? text[..40] + "…" : text)}')."];
        return null;
    }
}
