using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;

namespace Functions.Core.RateLimits;

/// <summary>
/// One counter: a caller's or an upstream model's request and token TATs (see <see cref="RateBucket"/>). A caller's row
/// also keeps the token interval it was charged at (settling needs it, and the caller's roles are not known then) and
/// the last settlements applied, so a repeated settle changes nothing.
/// </summary>
public sealed record CounterRow(string Partition, string Label, long RequestTat, long TokenTat, long TokenInterval, string Settled,
    ETag ETag = default);

/// <summary>
/// The rate-limit table: one partition per counter, so callers never contend with each other. Keys are hashes, never
/// the caller id itself: an id of any length or any characters makes a valid key; the row keeps it, escaped, as a label.
/// </summary>
public sealed class RateLimitStore(TableClient table)
{
    private const string RowKey = "limits";
    private const int MaxLabelChars = 512;

    public TableClient Client => table;

    public static string CallerPartition(string caller) => "caller-" + Hash(caller);

    public static string ModelPartition(string pacingKey) => "model-" + Hash(pacingKey);

    public static string Label(string text)
    {
        var escaped = Uri.EscapeDataString(text.Length > MaxLabelChars ? text[..MaxLabelChars] : text);
        return escaped.Length > MaxLabelChars ? escaped[..MaxLabelChars] : escaped;
    }

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    public async Task<CounterRow?> GetAsync(string partition, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partition, RowKey, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        return new CounterRow(partition, entity.GetString("Label") ?? "", entity.GetInt64("RequestTat") ?? 0, entity.GetInt64("TokenTat") ?? 0,
            entity.GetInt64("TokenInterval") ?? 0, entity.GetString("Settled") ?? "", entity.ETag);
    }

    /// <summary>
    /// Inserts a new row or replaces one unchanged since it was read (its ETag). Throws <see cref="RequestFailedException"/>
    /// with 409 or 412 when another writer got there first: read again and retry.
    /// </summary>
    /// <returns>The row as written, with its new ETag.</returns>
    public async Task<CounterRow> WriteAsync(CounterRow row, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(row.Partition, RowKey)
        {
            ["Label"] = row.Label,
            ["RequestTat"] = row.RequestTat,
            ["TokenTat"] = row.TokenTat,
            ["TokenInterval"] = row.TokenInterval,
            ["Settled"] = row.Settled,
        };
        var response = row.ETag == default
            ? await table.AddEntityAsync(entity, cancellationToken)
            : await table.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken);
        return row with { ETag = response.Headers.ETag ?? default };
    }
}
