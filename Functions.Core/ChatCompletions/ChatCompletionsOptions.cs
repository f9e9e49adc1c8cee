using System.ComponentModel.DataAnnotations;

namespace Functions.Core.ChatCompletions;

/// <summary>The interactive door's waits. Bound from the <c>ChatCompletions</c> configuration section.</summary>
public sealed class ChatCompletionsOptions
{
    public const string SectionName = "ChatCompletions";

    /// <summary>
    /// The longest a caller waits, before the first byte, for the shared gate to reopen or for a back-off between
    /// calls. Past it the door answers 503 with Retry-After at once: an interactive client would rather know.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxUpstreamWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A <c>:</c> comment goes out after this much silence on a stream, so idle connections stay open.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);
}
