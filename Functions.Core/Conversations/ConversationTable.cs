using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Functions.Core.Spend;
using Functions.Core.Storage;

namespace Functions.Core.Conversations;

/// <summary>One page of a caller's conversations, newest activity first, and where the next page starts.</summary>
public sealed record ConversationPage(IReadOnlyList<Conversation> Items, string? NextCursor);

/// <summary>
/// The conversations table. A caller's conversations all live in one partition (the caller's id), so everything a turn
/// changes (the head, the activity index, the two messages, the turn's marker) is one entity-group transaction:
/// <list type="bullet">
/// <item><c>{id}|head</c>: the <see cref="Conversation"/> (system prompt, counts, summary, the turn holding it);</item>
/// <item><c>{id}|m|{index:D6}</c>: one message each, in order;</item>
/// <item><c>{id}|t|{turnId}</c>: a turn appended, so a retried append finds it instead of adding it twice;</item>
/// <item><c>index|{inverted last activity}|{id}</c>: the list, newest first, re-keyed by every turn.</item>
/// </list>
/// </summary>
public sealed class ConversationTable(TableClient table)
{
    private const string IndexPrefix = "index|";
    private const string IndexEnd = "index}"; // '}' follows '|': every key with the prefix sorts below it
    private const int MaxBatch = 100;

    public TableClient Client => table;

    public Task CreateAsync(Conversation conversation, CancellationToken cancellationToken) =>
        table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.Add, ToEntity(conversation)),
            new TableTransactionAction(TableTransactionActionType.Add, ToIndexEntity(conversation)),
        ], cancellationToken);

    /// <returns>The conversation, or null when the caller has none by that id (or it is being deleted).</returns>
    public async Task<Conversation?> GetAsync(string caller, string id, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(Partition(caller), HeadKey(id), cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>A page of at most <paramref name="limit"/> conversations, newest activity first.</summary>
    public async Task<ConversationPage> ListAsync(string caller, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(caller)} and RowKey ge {IndexPrefix} and RowKey lt {IndexEnd}");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: limit, cancellationToken: cancellationToken)
                           .AsPages(cursor is null ? null : DecodeCursor(cursor), limit))
        {
            return new ConversationPage([.. page.Values.Select(FromIndexEntity)],
                page.ContinuationToken is { } next ? EncodeCursor(next) : null);
        }
        return new ConversationPage([], null);
    }

    /// <summary>Messages from <paramref name="from"/> on, in order; at most <paramref name="limit"/> of them (all when null).</summary>
    public async Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string caller, string id, int from, int? limit,
        CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {Partition(caller)} and RowKey ge {MessageKey(id, from)} and RowKey lt {End(id + "|m|")}");
        var messages = new List<StoredMessage>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(limit ?? 1000, 1000),
                           cancellationToken: cancellationToken))
        {
            messages.Add(FromMessageEntity(entity));
            if (messages.Count == limit)
            {
                break;
            }
        }
        return messages;
    }

    /// <returns>The index of the first message turn <paramref name="turnId"/> appended, or null when it appended none.</returns>
    public async Task<int?> FindTurnAsync(string caller, string id, string turnId, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(Partition(caller), TurnKey(id, turnId), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value!.GetInt32("FirstIndex") : null;
    }

    /// <summary>
    /// Appends <paramref name="messages"/> as turn <paramref name="turnId"/> and writes <paramref name="updated"/>, in one
    /// transaction conditional on the head read as <paramref name="current"/>: it fails whole with 412 when anything
    /// changed the head since, and with 409 when the turn was appended already.
    /// </summary>
    public Task AppendAsync(Conversation current, Conversation updated, IReadOnlyList<StoredMessage> messages, string turnId,
        CancellationToken cancellationToken)
    {
        var actions = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpdateReplace, ToEntity(updated), current.ETag),
        };
        if (IndexKey(current) == IndexKey(updated))
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToIndexEntity(updated)));
        }
        else
        {
            actions.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(Partition(current.Caller), IndexKey(current)), ETag.All));
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, ToIndexEntity(updated)));
        }
        actions.AddRange(messages.Select(message => new TableTransactionAction(TableTransactionActionType.Add, ToMessageEntity(updated, message))));
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(Partition(current.Caller), TurnKey(current.Id, turnId))
        {
            ["FirstIndex"] = messages.Count > 0 ? messages[0].Index : current.MessageCount,
            ["TurnId"] = turnId,
        }));
        return table.SubmitTransactionAsync(actions, cancellationToken);
    }

    /// <summary>Replaces the head if nobody changed it since it was read; otherwise throws 412 <see cref="RequestFailedException"/>.</summary>
    public async Task<Conversation> UpdateAsync(Conversation conversation, CancellationToken cancellationToken)
    {
        var response = await table.UpdateEntityAsync(ToEntity(conversation), conversation.ETag, TableUpdateMode.Replace, cancellationToken);
        return conversation with { ETag = response.Headers.ETag ?? default };
    }

    /// <summary>
    /// Removes every row of the conversation but its head, a transaction of at most 100 rows at a time; the head goes last
    /// (<see cref="DeleteHeadAsync"/>), so a delete that stops half way leaves it, marked <see cref="Conversation.Deleting"/>,
    /// for a retry to finish from.
    /// </summary>
    /// <returns>How many rows were removed, and the turns (job or call ids) the conversation had, whose own rows go too.</returns>
    public async Task<(int Rows, IReadOnlyList<string> TurnIds)> DeleteContentsAsync(Conversation conversation, CancellationToken cancellationToken)
    {
        var partition = Partition(conversation.Caller);
        var head = HeadKey(conversation.Id);
        var prefix = conversation.Id + "|";
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {End(prefix)}");
        var keys = new List<string> { IndexKey(conversation) };
        var turns = new List<string>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey", "TurnId"],
                           cancellationToken: cancellationToken))
        {
            if (entity.RowKey != head)
            {
                keys.Add(entity.RowKey);
            }
            if (entity.RowKey.StartsWith(conversation.Id + "|t|", StringComparison.Ordinal) && entity.GetString("TurnId") is { } turn)
            {
                turns.Add(turn);
            }
        }
        foreach (var chunk in keys.Chunk(MaxBatch))
        {
            await DeleteRowsAsync(partition, chunk, cancellationToken);
        }
        return (keys.Count, turns);
    }

    /// <summary>Unconditional: once marked, nothing else writes the head (turns and releases leave a deleting conversation alone).</summary>
    public Task DeleteHeadAsync(Conversation conversation, CancellationToken cancellationToken) =>
        DeleteRowAsync(Partition(conversation.Caller), HeadKey(conversation.Id), ETag.All, cancellationToken);

    private async Task DeleteRowsAsync(string partition, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(
                keys.Select(key => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, key), ETag.All)),
                cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 404)
        {
            // Some row went already (a concurrent delete, or the index row of a delete that stopped): one at a time then.
            foreach (var key in keys)
            {
                await DeleteRowAsync(partition, key, ETag.All, cancellationToken);
            }
        }
    }

    private async Task DeleteRowAsync(string partition, string key, ETag ifMatch, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(partition, key, ifMatch, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Gone already: what a delete wants.
        }
    }

    public static string Partition(string caller) => SpendKeys.Part(caller);

    /// <summary>The first key after every key that starts with <paramref name="prefix"/> (which ends in '|').</summary>
    private static string End(string prefix) => prefix[..^1] + "}";

    private static string HeadKey(string id) => id + "|head";

    private static string MessageKey(string id, int index) => $"{id}|m|{index.ToString("D6", CultureInfo.InvariantCulture)}";

    private static string TurnKey(string id, string turnId) => $"{id}|t|{SpendKeys.Part(turnId)}";

    private static string IndexKey(Conversation conversation) =>
        IndexPrefix + (DateTimeOffset.MaxValue.UtcTicks - conversation.LastActivityAt.UtcTicks).ToString("D19", CultureInfo.InvariantCulture)
                    + "|" + conversation.Id;

    private static string EncodeCursor(string token) => Convert.ToBase64String(Encoding.UTF8.GetBytes(token)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <returns>The continuation token, or throws <see cref="FormatException"/> for a cursor this table never gave out.</returns>
    public static string DecodeCursor(string cursor)
    {
        var base64 = cursor.Replace('-', '+').Replace('_', '/');
        base64 += new string('=', (4 - base64.Length % 4) % 4);
        return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
    }

    private static TableEntity ToEntity(Conversation conversation)
    {
        var entity = Listed(HeadKey(conversation.Id), conversation);
        entity["PendingTurn"] = conversation.PendingTurn;
        entity["PendingUntil"] = conversation.PendingUntil;
        entity["Deleting"] = conversation.Deleting;
        TextChunks.Write(entity, "SystemPrompt", conversation.SystemPrompt);
        if (conversation.Summary is { } summary)
        {
            TextChunks.Write(entity, "Summary", summary.Text);
            entity["SummaryCovers"] = summary.Covers;
            entity["SummaryCalls"] = summary.Calls;
            entity["SummaryUpdatedAt"] = summary.UpdatedAt;
        }
        return entity;
    }

    private static Conversation FromEntity(TableEntity entity) =>
        FromListed(entity.RowKey[..entity.RowKey.IndexOf('|', StringComparison.Ordinal)], entity) with
        {
            SystemPrompt = TextChunks.Read(entity, "SystemPrompt"),
            Summary = TextChunks.Read(entity, "Summary") is { } text
                ? new ConversationSummary(text, entity.GetInt32("SummaryCovers") ?? 0, entity.GetInt32("SummaryCalls") ?? 0,
                    entity.GetDateTimeOffset("SummaryUpdatedAt") ?? default)
                : null,
            PendingTurn = entity.GetString("PendingTurn"),
            PendingUntil = entity.GetDateTimeOffset("PendingUntil"),
            Deleting = entity.GetBoolean("Deleting") ?? false,
            ETag = entity.ETag,
        };

    private static TableEntity ToIndexEntity(Conversation conversation) => Listed(IndexKey(conversation), conversation);

    private static Conversation FromIndexEntity(TableEntity entity) => FromListed(entity.RowKey[(entity.RowKey.LastIndexOf('|') + 1)..], entity);

    /// <summary>What the list shows of a conversation: the head holds it, and so does its index row.</summary>
    private static TableEntity Listed(string rowKey, Conversation conversation) => new(Partition(conversation.Caller), rowKey)
    {
        ["Caller"] = conversation.Caller,
        ["Title"] = conversation.Title,
        ["Model"] = conversation.Model,
        ["CreatedAt"] = conversation.CreatedAt,
        ["LastActivityAt"] = conversation.LastActivityAt,
        ["MessageCount"] = conversation.MessageCount,
    };

    private static Conversation FromListed(string id, TableEntity entity) => new(
        id,
        entity.GetString("Caller"),
        entity.GetString("Title"),
        null,
        entity.GetString("Model"),
        entity.GetDateTimeOffset("CreatedAt") ?? default,
        entity.GetDateTimeOffset("LastActivityAt") ?? default,
        entity.GetInt32("MessageCount") ?? 0);

    private static TableEntity ToMessageEntity(Conversation conversation, StoredMessage message)
    {
        var entity = new TableEntity(Partition(conversation.Caller), MessageKey(conversation.Id, message.Index))
        {
            ["Role"] = message.Role,
            ["Tokens"] = message.Tokens,
            ["Encoding"] = message.Encoding,
            ["TurnId"] = message.TurnId,
            ["CreatedAt"] = message.CreatedAt,
        };
        TextChunks.Write(entity, "Content", message.Content);
        return entity;
    }

    private static StoredMessage FromMessageEntity(TableEntity entity) => new(
        int.Parse(entity.RowKey[(entity.RowKey.LastIndexOf('|') + 1)..], CultureInfo.InvariantCulture),
        entity.GetString("Role"),
        TextChunks.Read(entity, "Content") ?? "",
        entity.GetInt32("Tokens") ?? 0,
        entity.GetString("Encoding") ?? "",
        entity.GetString("TurnId") ?? "",
        entity.GetDateTimeOffset("CreatedAt") ?? default);
}
