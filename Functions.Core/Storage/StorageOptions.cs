using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Storage;

/// <summary>Names of the tables and queues. Bound from the <c>Storage</c> configuration section.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The queue trigger binds to the same setting: <c>[QueueTrigger("%Storage:ChatQueue%")]</c>.</summary>
    [Required, RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$",
        ErrorMessage = "Storage:ChatQueue must be a valid queue name of at most 57 characters (room for '-poison').")]
    public string ChatQueue { get; set; } = "chat-jobs";

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:JobsTable must be a valid table name.")]
    public string JobsTable { get; set; } = "jobs";

    /// <summary>Holds the shared upstream gate (rate-limit back-off and open circuit) every instance reads.</summary>
    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:GateTable must be a valid table name.")]
    public string GateTable { get; set; } = "upstreamgate";

    /// <summary>The Functions host's convention: messages that exhaust maxDequeueCount move here.</summary>
    public string PoisonQueue => ChatQueue + FunctionNames.PoisonSuffix;
}
