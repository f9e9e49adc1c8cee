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
    DateTimeOffset? RolledUpAt,
    DateOnly? LiveFrom);

public sealed record SpendGroup(string Key, SpendTotals Total, IReadOnlyList<SpendDay> Days);

public sealed record SpendDay(DateOnly Day, SpendTotals Totals);

/// <summary>
/// <c>GET /api/spend?from=yyyy-MM-dd&amp;to=yyyy-MM-dd&amp;by=caller|model</c>: the daily rollups, for admins only.
/// <c>to</c> defaults to today (UTC), <c>from</c> to 30 days before <c>to</c>, <c>by</c> to caller. Days the rollup has
/// closed (through <see cref="SpendReport.FinalThrough"/>) come from its rows; later days, today among them, are summed
/// from the ledger as the report is asked for (<see cref="SpendReport.LiveFrom"/>), so today's spend shows at once
/// rather than after the next hourly rollup.
/// </summary>
public sealed class SpendReportHandler(CallerResolver callers, SpendAdmins admins, SpendRollups rollups, SpendRollup rollup,
    SpendLedger ledger, TimeProvider time)
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

        var watermark = await rollups.GetWatermarkAsync(cancellationToken);
        var today = SpendKeys.DayOf(time.GetUtcNow());
        var open = watermark is not null ? watermark.ClosedThrough.AddDays(1) : await ledger.FirstDayAsync(cancellationToken) ?? today;
        var liveFrom = open > from ? open : from;
        var rows = new List<RollupRow>();
        if (liveFrom > from)
        {
            rows.AddRange(await rollups.ReadAsync(from, liveFrom.AddDays(-1) < to ? liveFrom.AddDays(-1) : to, cancellationToken));
        }
        for (var day = liveFrom; day <= to && day <= today; day = day.AddDays(1))
        {
            rows.AddRange(await rollup.ComputeDayAsync(day, cancellationToken));
        }
        var groups = rows.Where(row => !row.IsDayTotal)
            .GroupBy(row => by == "caller" ? row.Caller! : row.Model!, StringComparer.Ordinal)
            .Select(group => new SpendGroup(group.Key, Sum(group),
                [.. group.GroupBy(row => row.Day).Select(day => new SpendDay(day.Key, Sum(day))).OrderBy(day => day.Day)]))
            .OrderByDescending(group => group.Total.CostMicros).ThenBy(group => group.Key, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Ok(new SpendReport(from, to, by, Sum(rows.Where(row => row.IsDayTotal)), groups,
            watermark?.ClosedThrough, watermark?.LastRunAt, liveFrom <= to ? liveFrom : null));
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
        errors[name] = [$"Must be a date as {DateFormat}."];
        return null;
    }
}
