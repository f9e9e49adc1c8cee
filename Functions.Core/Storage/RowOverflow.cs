using Azure;
using Azure.Data.Tables;

namespace Functions.Core.Storage;

/// <summary>
/// Stores an entity larger than Table Storage's 1 MiB per row (say a job whose answer is long) by moving its largest
/// properties to overflow rows in the same partition, <c>{RowKey}~1</c>, <c>{RowKey}~2</c>, …, written in one
/// entity-group transaction (atomic, up to 4 MiB). Entities that fit are written exactly as before.
/// </summary>
public static class RowOverflow
{
    /// <summary>1 MiB less a margin for what the size formula leaves out (type annotations, JSON punctuation).</summary>
    public const int MaxRowBytes = 1024 * 1024 - 16 * 1024;
    private const string CountProperty = "OverflowRows";

    public static async Task<ETag> AddAsync(TableClient table, TableEntity entity, CancellationToken cancellationToken)
    {
        var rows = Split(entity);
        return rows.Count == 1
            ? (await table.AddEntityAsync(entity, cancellationToken)).Headers.ETag ?? default
            : await SubmitAsync(table, new TableTransactionAction(TableTransactionActionType.Add, entity), rows, cancellationToken);
    }

    /// <summary>Replaces the entity if its ETag still matches; otherwise throws 412 <see cref="RequestFailedException"/>.</summary>
    public static async Task<ETag> ReplaceAsync(TableClient table, TableEntity entity, ETag ifMatch, CancellationToken cancellationToken)
    {
        var rows = Split(entity);
        return rows.Count == 1
            ? (await table.UpdateEntityAsync(entity, ifMatch, TableUpdateMode.Replace, cancellationToken)).Headers.ETag ?? default
            : await SubmitAsync(table, new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, ifMatch), rows,
                cancellationToken);
    }

    /// <summary>The entity with its overflow rows' properties back in it, or null when there is none.</summary>
    public static async Task<TableEntity?> GetAsync(TableClient table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return null;
        }
        var entity = response.Value!;
        for (var index = 1; index <= (entity.GetInt32(CountProperty) ?? 0); index++)
        {
            var overflow = await table.GetEntityAsync<TableEntity>(partitionKey, OverflowKey(rowKey, index), cancellationToken: cancellationToken);
            foreach (var (name, value) in overflow.Value.Where(property => !IsSystem(property.Key)))
            {
                entity[name] = value;
            }
        }
        return entity;
    }

    private static async Task<ETag> SubmitAsync(TableClient table, TableTransactionAction main, List<TableEntity> rows,
        CancellationToken cancellationToken)
    {
        var response = await table.SubmitTransactionAsync(
            [main, .. rows.Skip(1).Select(row => new TableTransactionAction(TableTransactionActionType.UpsertReplace, row))], cancellationToken);
        return response.Value[0].Headers.ETag ?? default;
    }

    /// <returns>The entity (trimmed to fit, naming its overflow count) followed by its overflow rows; just the entity if it fits.</returns>
    private static List<TableEntity> Split(TableEntity entity)
    {
        var rows = new List<TableEntity> { entity };
        if (Size(entity) <= MaxRowBytes)
        {
            return rows;
        }

        entity[CountProperty] = 0;
        var largestFirst = entity.Where(property => !IsSystem(property.Key) && property.Key != CountProperty)
            .OrderByDescending(property => PropertySize(property.Key, property.Value)).ToList();
        foreach (var (name, value) in largestFirst)
        {
            if (Size(entity) <= MaxRowBytes)
            {
                break;
            }
            entity.Remove(name);
            if (rows.Count == 1 || Size(rows[^1]) + PropertySize(name, value) > MaxRowBytes)
            {
                rows.Add(new TableEntity(entity.PartitionKey, OverflowKey(entity.RowKey, rows.Count)));
            }
            rows[^1][name] = value;
        }
        entity[CountProperty] = rows.Count - 1;
        return rows;
    }

    private static string OverflowKey(string rowKey, int index) => $"{rowKey}~{index}";

    private static bool IsSystem(string name) => name is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag";

    private static long Size(TableEntity entity) =>
        4 + (entity.PartitionKey.Length + entity.RowKey.Length) * 2
        + entity.Where(property => !IsSystem(property.Key)).Sum(property => PropertySize(property.Key, property.Value));

    /// <summary>
    /// The larger of what a string counts for in a row (UTF-16) and on the wire, where the SDK's JSON writes every
    /// non-ASCII or HTML-sensitive character as <c>\uXXXX</c> (six bytes); the emulator and the request limits go by the latter.
    /// </summary>
    public static long StringBytes(string text)
    {
        long wire = 0;
        foreach (var c in text)
        {
            wire += c is >= ' ' and < '\x7f' and not ('"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`') ? 1 : 6;
        }
        return Math.Max(text.Length * 2L, wire) + 4;
    }

    private static long PropertySize(string name, object? value) => 8 + name.Length * 2 + value switch
    {
        string text => StringBytes(text),
        byte[] bytes => bytes.Length + 4,
        BinaryData data => data.ToMemory().Length + 4,
        Guid => 16,
        bool => 1,
        int => 4,
        _ => 8,
    };
}
