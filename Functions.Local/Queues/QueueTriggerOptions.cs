using System.ComponentModel.DataAnnotations;

namespace Functions.Local.Queues;

/// <summary>
/// host.json <c>extensions.queues</c>, with the Functions host's defaults, read from the same file the Azure
/// Functions app deploys (and overridable the same way, with <c>AzureFunctionsJobHost__extensions__queues__…</c>).
/// </summary>
public sealed class QueueTriggerOptions
{
    public const string SectionName = "AzureFunctionsJobHost:extensions:queues";

    [Range(1, 32)]
    public int BatchSize { get; set; } = 16;

    /// <summary>Fetch another batch when this few messages are still running; -1 means the host's default, BatchSize / 2.</summary>
    [Range(-1, 1024)]
    public int NewBatchThreshold { get; set; } = -1;

    [Range(1, 1000)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>How long a message that failed stays invisible before its next attempt.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>The longest wait between polls of an empty queue (polling backs off from 100 ms up to this).</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary><c>base64</c> (the default) or <c>none</c>.</summary>
    [RegularExpression("^(?i)(base64|none)$")]
    public string MessageEncoding { get; set; } = "base64";

    public int EffectiveNewBatchThreshold => NewBatchThreshold >= 0 ? NewBatchThreshold : BatchSize / 2;

    /// <summary>The host's lease on a message being processed, renewed at half-time while the function runs.</summary>
    public static readonly TimeSpan MessageLease = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);
}
