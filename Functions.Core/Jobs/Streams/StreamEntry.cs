using System.Globalization;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// One row of a job's stream log: the deltas with ids <c>After + 1</c> to <see cref="Last"/>, as the model sent them;
/// or, when <see cref="RestartAttempt"/> is set, a restart marker: everything since the previous marker belongs to an
/// attempt that failed, and model call <see cref="RestartAttempt"/> writes the text anew from delta <c>After + 1</c>.
/// Row keys sort in log order: a batch is keyed by its last id, a marker by the id before it with a suffix, so
/// "every row after delta N" is one range query (<c>RowKey gt N</c>) that includes a marker placed right after N.
/// </summary>
public sealed record StreamEntry(long After, IReadOnlyList<string> Deltas, int? RestartAttempt = null)
{
    private const string RestartSuffix = "-restart";

    public long Last => After + Deltas.Count;

    public bool IsRestart => RestartAttempt is not null;

    public string RowKey => IsRestart ? KeyOf(After) + RestartSuffix : KeyOf(Last);

    public static StreamEntry Restart(long after, int attempt) => new(after, [], attempt);

    /// <summary>The row key every row after delta <paramref name="id"/> sorts above (0: the whole log).</summary>
    public static string KeyOf(long id) => id.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>The last delta id a row key names, and whether the row is a restart marker.</summary>
    public static (long LastId, bool IsRestart) ParseKey(string rowKey) =>
        (long.Parse(rowKey.AsSpan(0, 12), NumberStyles.None, CultureInfo.InvariantCulture), rowKey.EndsWith(RestartSuffix, StringComparison.Ordinal));
}
