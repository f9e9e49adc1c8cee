using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Functions.Core.Spend;

/// <summary>
/// Partition and row keys of the spend table. Every kind of entity has its own partition prefix, so one table
/// serves them all without their queries meeting:
/// <list type="bullet">
/// <item><c>ledger-yyyyMMdd</c>: one row per model call (<c>call|{jobId}|{attempt}</c>) or cache saving (<c>saving|{id}</c>).</item>
/// <item><c>rollup-yyyyMMdd</c>: a day's <c>total</c> and one row per caller and model (<c>cm|{caller}|{model}</c>).</item>
/// <item><c>rollup-state</c>: the rollup's watermark.</item>
/// <item><c>budget-day-yyyyMMdd</c>, <c>budget-month-yyyyMM</c>: counters (<c>counter|…</c>) and reservations (<c>reservation|{jobId}</c>).</item>
/// <item><c>alert-day-…</c>, <c>alert-month-…</c>, <c>alert-digest</c>: which alerts were sent.</item>
/// </list>
/// </summary>
public static class SpendKeys
{
    public const string LedgerPrefix = "ledger-";
    public const string RollupPrefix = "rollup-";

    public static string Ledger(DateOnly day) => LedgerPrefix + Day(day);

    public static string Rollup(DateOnly day) => RollupPrefix + Day(day);

    public static string Day(DateOnly day) => day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    public static DateOnly ParseDay(string key) => DateOnly.ParseExact(key, "yyyyMMdd", CultureInfo.InvariantCulture);

    public static DateOnly DayOf(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime);

    /// <summary>
    /// A caller id, model or other free text made safe for a key: Table Storage forbids <c>/ \ # ?</c> and control
    /// characters, and '|' separates key parts here, so all of those are percent-encoded. Text too long for a key
    /// (keys are at most 1 KiB) becomes a hash; entities always keep the original text in a property too.
    /// </summary>
    public static string Part(string value)
    {
        var escaped = Uri.EscapeDataString(value);
        return escaped.Length <= 256
            ? escaped
            : "h-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
    }

    /// <summary>Filter for every partition whose key sorts from <paramref name="first"/> to <paramref name="last"/>, inclusive.</summary>
    public static string PartitionRange(string first, string last) =>
        $"PartitionKey ge '{first}' and PartitionKey le '{last}'";

    /// <summary>Filter for the rows of one partition whose key starts with <paramref name="rowPrefix"/>.</summary>
    public static string RowPrefix(string partition, string rowPrefix) =>
        $"PartitionKey eq '{partition}' and RowKey ge '{rowPrefix}' and RowKey lt '{rowPrefix[..^1]}{(char)(rowPrefix[^1] + 1)}'";
}
