using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Spend;

/// <summary>Where spend is kept and who may read it. Bound from the <c>Spend</c> configuration section.</summary>
public sealed class SpendOptions
{
    public const string SectionName = "Spend";

    /// <summary>
    /// The one table holding the ledger, the daily rollups, the budget counters and reservations, and the alert
    /// state; each kind lives in its own partitions (see <see cref="SpendKeys"/>).
    /// </summary>
    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Spend:Table must be a valid table name.")]
    public string Table { get; set; } = "spend";

    /// <summary>Comma-separated caller ids that may read <c>GET /api/spend</c> besides principals with <see cref="AdminRole"/>.</summary>
    public string AdminCallers { get; set; } = "";

    /// <summary>The role claim (in App Service's <c>X-MS-CLIENT-PRINCIPAL</c>) that makes a principal a spend admin.</summary>
    [Required]
    public string AdminRole { get; set; } = "admin";

    public IReadOnlySet<string> AdminCallerSet =>
        AdminCallers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
}
