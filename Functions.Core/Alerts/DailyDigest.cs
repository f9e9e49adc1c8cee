using System.Globalization;
using System.Text.Json.Nodes;
using Functions.Core.Spend;
using Microsoft.Extensions.Options;

namespace Functions.Core.Alerts;

/// <summary>
/// Once a day, yesterday's spend: the total, the top callers and models, and what the cache saved. It waits until
/// the rollup has closed yesterday (so its figures are final) and is delivered once like any other alert.
/// </summary>
public sealed class DailyDigest(SpendRollups rollups, AlertStates states, AlertDelivery delivery, AlertSender sender,
    IOptions<AlertOptions> options, TimeProvider time)
{
    private const int Top = 5;

    /// <param name="closedThrough">The rollup's watermark: every day up to it is final.</param>
    public async Task<AlertOutcome?> RunAsync(DateOnly closedThrough, CancellationToken cancellationToken)
    {
        var yesterday = SpendKeys.DayOf(time.GetUtcNow()).AddDays(-1);
        if (!options.Value.DailyDigest || closedThrough < yesterday || (await sender.ChannelsAsync(cancellationToken)).Count == 0)
        {
            return null;
        }

        var rowKey = SpendKeys.Day(yesterday);
        var known = await states.GetAsync(AlertStates.DigestPartition, rowKey, cancellationToken);
        return await delivery.DeliverAsync(AlertStates.DigestPartition, rowKey, known,
            async token => Compose(yesterday, await rollups.ReadAsync(yesterday, yesterday, token)), cancellationToken);
    }

    internal static AlertMessage Compose(DateOnly day, IReadOnlyList<RollupRow> rows)
    {
        var total = rows.FirstOrDefault(row => row.IsDayTotal)?.Totals ?? SpendTotals.Zero;
        var byCaller = Leaders(rows, row => row.Caller!);
        var byModel = Leaders(rows, row => row.Model!);
        var label = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string[] lines =
        [
            $"{total.Calls:N0} model calls: {total.InputTokens:N0} input tokens ({total.CachedInputTokens:N0} cached), {total.OutputTokens:N0} output tokens.",
            "Top callers: " + Describe(byCaller),
            "Top models: " + Describe(byModel),
            $"The cache answered {total.CacheHits:N0} requests and saved {Money.Format(total.SavedMicros)}.",
        ];
        var details = new JsonObject
        {
            ["day"] = label,
            ["totalUsd"] = total.CostUsd,
            ["costMicros"] = total.CostMicros,
            ["calls"] = total.Calls,
            ["inputTokens"] = total.InputTokens,
            ["cachedInputTokens"] = total.CachedInputTokens,
            ["outputTokens"] = total.OutputTokens,
            ["topCallers"] = ToJson(byCaller, "caller"),
            ["topModels"] = ToJson(byModel, "model"),
            ["cacheHits"] = total.CacheHits,
            ["cacheSavingsUsd"] = total.SavedUsd,
        };
        return new AlertMessage($"digest:{label}", AlertMessage.DailyDigest, $"Spend on {label}: {Money.Format(total.CostMicros)}",
            lines, details);
    }

    private static List<(string Key, SpendTotals Totals)> Leaders(IReadOnlyList<RollupRow> rows, Func<RollupRow, string> key) =>
        [.. rows.Where(row => !row.IsDayTotal)
            .GroupBy(key)
            .Select(group => (group.Key, group.Aggregate(SpendTotals.Zero, (sum, row) => sum.Add(row.Totals))))
            .Where(leader => leader.Item2.Calls > 0)
            .OrderByDescending(leader => leader.Item2.CostMicros).ThenBy(leader => leader.Key, StringComparer.Ordinal)
            .Take(Top)];

    private static string Describe(List<(string Key, SpendTotals Totals)> leaders) =>
        leaders.Count == 0 ? "none." : string.Join(", ", leaders.Select(l => $"{l.Key} {Money.Format(l.Totals.CostMicros)}")) + ".";

    private static JsonArray ToJson(List<(string Key, SpendTotals Totals)> leaders, string name) =>
        [.. leaders.Select(l => (JsonNode)new JsonObject { [name] = l.Key, ["costUsd"] = l.Totals.CostUsd, ["calls"] = l.Totals.Calls })];
}
