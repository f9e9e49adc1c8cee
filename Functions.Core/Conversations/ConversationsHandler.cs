using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Functions.Core.Callers;
using Functions.Core.Completions;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Core.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Conversations;

/// <summary>A conversation as its owner sees it in a list, or (with its messages) on its own.</summary>
public sealed record ConversationView(
    string Id,
    string? Title,
    string Model,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    int MessageCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SystemPrompt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SummaryView? Summary = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MessageView>? Messages = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Next = null)
{
    public static ConversationView Listed(Conversation c) => new(c.Id, c.Title, c.Model, c.CreatedAt, c.LastActivityAt, c.MessageCount);
}

/// <summary>How far the running summary reaches: the first <see cref="CoversMessages"/> messages, in <see cref="Calls"/> summary calls.</summary>
public sealed record SummaryView(int CoversMessages, int Calls, DateTimeOffset UpdatedAt);

public sealed record MessageView(int Index, string Role, string Content, DateTimeOffset CreatedAt);

public sealed record ConversationListView(IReadOnlyList<ConversationView> Conversations, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Next);

/// <summary>
/// <c>/api/conversations</c>: create one (201), list the caller's (newest activity first, paged), read one with its
/// messages (paged, oldest first), delete one with everything stored for it (messages, summary, the turns' jobs).
/// Another caller's conversation is 404 on every route, exactly like a missing one.
/// </summary>
public sealed class ConversationsHandler(
    CallerResolver callers,
    ChatRequestReader reader,
    ConversationTable table,
    JobTable jobs,
    Jobs.Streams.JobStreamTable streams,
    RateLimits.CallerRateLimiter rateLimits,
    IOptions<RequestLimitsOptions> limits,
    IOptions<OpenAIOptions> openAI,
    TimeProvider time,
    ILogger<ConversationsHandler> logger)
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;
    public const int MaxTitleChars = 200;

    private static readonly HashSet<string> CreateFields = new(StringComparer.Ordinal) { "systemPrompt", "model", "title" };

    public async Task<IResult> CreateAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        // An empty body is a conversation with the defaults.
        var (document, problem) = http.ContentLength == 0 ? (JsonDocument.Parse("{}"), null) : await reader.ReadJsonAsync(http, cancellationToken);
        if (document is null)
        {
            return problem!;
        }
        Conversation conversation;
        using (document)
        {
            var errors = new Dictionary<string, string[]>();
            var now = time.GetUtcNow();
            var (systemPrompt, model, title) = ReadCreate(document.RootElement, errors);
            if (errors.Count > 0)
            {
                return ApiProblems.Validation(errors);
            }
            conversation = new Conversation(JobIds.New(time), caller, title, systemPrompt, model, now, now);
        }
        return await AdmittedAsync(http, caller, async () =>
        {
            await table.CreateAsync(conversation, CancellationToken.None);
            var url = ConversationRoutes.ItemUrl(conversation.Id);
            return TypedResults.Created(url, View(conversation, [], next: null));
        });
    }

    public async Task<IResult> ListAsync(HttpRequest http, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        var errors = new Dictionary<string, string[]>();
        var limit = ReadLimit(http.Query, errors);
        var cursor = http.Query["cursor"].ToString() is { Length: > 0 } text ? text : null;
        if (cursor is not null && !IsCursor(cursor))
        {
            errors["cursor"] = ["Must be a 'next' link's cursor from an earlier page."];
        }
        if (errors.Count > 0)
        {
            return ApiProblems.Validation(errors);
        }
        return await AdmittedAsync(http, caller, async () =>
        {
            var page = await table.ListAsync(caller, limit, cursor, cancellationToken);
            var next = page.NextCursor is { } more ? $"/api/{ConversationRoutes.Collection}?limit={limit}&cursor={more}" : null;
            return TypedResults.Ok(new ConversationListView([.. page.Items.Select(ConversationView.Listed)], next));
        });
    }

    public async Task<IResult> GetAsync(HttpRequest http, string id, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        var errors = new Dictionary<string, string[]>();
        var limit = ReadLimit(http.Query, errors, defaultLimit: 50);
        var after = ReadAfter(http.Query, errors);
        if (errors.Count > 0)
        {
            return ApiProblems.Validation(errors);
        }
        return await AdmittedAsync(http, caller, async () =>
        {
            if (!JobIds.IsWellFormed(id) || await table.GetAsync(caller, id, cancellationToken) is not { Deleting: false } conversation)
            {
                return ConversationProblems.NotFound(id);
            }
            var from = after is { } last ? last + 1 : 0;
            var messages = await table.ReadMessagesAsync(caller, id, from, limit, cancellationToken);
            var next = messages.Count == limit && messages[^1].Index + 1 < conversation.MessageCount
                ? $"{ConversationRoutes.ItemUrl(id)}?limit={limit}&after={messages[^1].Index}"
                : null;
            return TypedResults.Ok(View(conversation, messages, next));
        });
    }

    public async Task<IResult> DeleteAsync(HttpRequest http, string id, CancellationToken cancellationToken)
    {
        if (callers.Resolve(http) is not { } caller)
        {
            return ApiProblems.Unauthorized();
        }
        return await AdmittedAsync(http, caller, async () =>
        {
            // Marked first, so no turn starts or appends while its rows go; a delete that stopped half way is finished by a retry.
            for (var round = 1; ; round++)
            {
                if (!JobIds.IsWellFormed(id) || await table.GetAsync(caller, id, cancellationToken) is not { } conversation)
                {
                    return ConversationProblems.NotFound(id);
                }
                try
                {
                    var marked = conversation.Deleting ? conversation : await table.UpdateAsync(conversation with { Deleting = true }, CancellationToken.None);
                    var (rows, turns) = await table.DeleteContentsAsync(marked, CancellationToken.None);
                    // The turns' jobs hold the history they were sent with, and their streams the answers: they go too
                    // (an interactive turn has neither).
                    foreach (var turn in turns.Where(JobIds.IsWellFormed))
                    {
                        await streams.RemoveAsync(turn, CancellationToken.None);
                        await jobs.RemoveAsync(turn, CancellationToken.None);
                    }
                    await table.DeleteHeadAsync(marked, CancellationToken.None);
                    ConversationsLog.Deleted(logger, id, caller, rows + 1, turns.Count);
                    return TypedResults.NoContent();
                }
                catch (Azure.RequestFailedException ex) when (ex.Status == 412 && round < 5)
                {
                    // A turn changed the head as it was being marked: read it again.
                }
            }
        });
    }

    private (string? SystemPrompt, string Model, string? Title) ReadCreate(JsonElement root, Dictionary<string, string[]> errors)
    {
        string? systemPrompt = null, title = null;
        var model = openAI.Value.DefaultModel;
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["The body must be a JSON object."];
            return (null, model, null);
        }
        foreach (var property in root.EnumerateObject())
        {
            if (!CreateFields.Contains(property.Name))
            {
                errors[property.Name] = ["Unknown field: a conversation takes 'systemPrompt', 'model' and 'title'."];
            }
        }
        if (root.TryGetProperty("systemPrompt", out var prompt) && prompt.ValueKind != JsonValueKind.Null)
        {
            var max = limits.Value.MaxMessageChars;
            if (prompt.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(prompt.GetString()))
            {
                errors["systemPrompt"] = ["Must be a non-empty string."];
            }
            else if (prompt.GetString()!.Length > max)
            {
                errors["systemPrompt"] = [$"May be at most {max} characters (got {prompt.GetString()!.Length})."];
            }
            else
            {
                systemPrompt = prompt.GetString();
            }
        }
        // The same models and routes a request may name (a conversation's turns are sent with its model).
        model = reader.ReadModel(root, errors);
        if (root.TryGetProperty("title", out var titleElement) && titleElement.ValueKind != JsonValueKind.Null)
        {
            if (titleElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(titleElement.GetString())
                || titleElement.GetString()!.Length > MaxTitleChars)
            {
                errors["title"] = [$"Must be a non-empty string of at most {MaxTitleChars} characters."];
            }
            else
            {
                title = titleElement.GetString()!.Trim();
            }
        }
        return (systemPrompt, model, title);
    }

    private static ConversationView View(Conversation c, IReadOnlyList<StoredMessage> messages, string? next) => new(
        c.Id, c.Title, c.Model, c.CreatedAt, c.LastActivityAt, c.MessageCount, c.SystemPrompt,
        c.Summary is { } summary ? new SummaryView(summary.Covers, summary.Calls, summary.UpdatedAt) : null,
        [.. messages.Select(m => new MessageView(m.Index, m.Role, m.Content, m.CreatedAt))],
        next);

    private static int ReadLimit(IQueryCollection query, Dictionary<string, string[]> errors, int defaultLimit = DefaultPageSize)
    {
        var text = query["limit"].ToString();
        if (text.Length == 0)
        {
            return defaultLimit;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxPageSize)
        {
            return limit;
        }
        errors["limit"] = [$"Must be a whole number from 1 to {MaxPageSize}."];
        return defaultLimit;
    }

    private static int? ReadAfter(IQueryCollection query, Dictionary<string, string[]> errors)
    {
        var text = query["after"].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var after) && after < 1_000_000)
        {
            return after;
        }
        errors["after"] = ["Must be the index of a message (a whole number from 0)."];
        return null;
    }

    private static bool IsCursor(string cursor)
    {
        try
        {
            ConversationTable.DecodeCursor(cursor);
            return cursor.Length <= 2048;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// The storage work of one request of <paramref name="caller"/>, admitted by the caller's rate limit first: one
    /// request and no tokens, as reading or writing a conversation calls no model. The limits' headers go on the answer.
    /// </summary>
    private Task<IResult> AdmittedAsync(HttpRequest http, string caller, Func<Task<IResult>> work) =>
        StorageAsync(() => rateLimits.AdmitRequestAsync(caller, callers.Roles(http), work));

    private async Task<IResult> StorageAsync(Func<Task<IResult>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception ex) when (StorageFailure.Is(ex))
        {
            ConversationsLog.StorageFailed(logger, ex);
            return ApiProblems.StorageUnavailable();
        }
    }
}
