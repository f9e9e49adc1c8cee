using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Conversations;

/// <summary>Server-side conversation history: how much of it is sent, how it is summarised, where it is kept.</summary>
public sealed class ConversationsOptions
{
    public const string SectionName = "Conversations";

    /// <summary>
    /// The most tokens of history a turn sends (system prompt, summary and earlier turns; the new message comes on top),
    /// counted with the turn's model's tokenizer.
    /// </summary>
    [Range(100, 1_000_000)]
    public int MaxHistoryTokens { get; set; } = 3000;

    /// <summary>The cheaper model that folds turns that no longer fit into the running summary; empty: trim only, never summarise.</summary>
    public string SummaryModel { get; set; } = "gpt-4.1-nano";

    /// <summary>The longest summary asked for (the summary call's max tokens), and the room kept for it in the history budget.</summary>
    [Range(16, 16_000)]
    public int SummaryMaxTokens { get; set; } = 400;

    /// <summary>Messages a conversation may hold (each turn adds two); a turn past it is 409.</summary>
    [Range(2, 100_000)]
    public int MaxMessages { get; set; } = 1000;

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Conversations:Table must be a valid table name.")]
    public string Table { get; set; } = "conversations";

    /// <summary>The queue of summary requests; the Functions host binds its trigger to this setting.</summary>
    [Required, RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$",
        ErrorMessage = "Conversations:SummaryQueue must be a valid queue name of at most 57 characters (room for '-poison').")]
    public string SummaryQueue { get; set; } = "conversation-summaries";
}
