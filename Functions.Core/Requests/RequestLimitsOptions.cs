using System.ComponentModel.DataAnnotations;

namespace Functions.Core.Requests;

/// <summary>Limits on what a caller may submit. Bound from the <c>Requests</c> configuration section.</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "Requests";

    [Range(1024, 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 256 * 1024;

    [Range(1, 1000)]
    public int MaxMessages { get; set; } = 64;

    [Range(1, 100_000)]
    public int MaxMessageChars { get; set; } = 32_000;

    /// <summary>
    /// Capped so that a stored request always fits one Table Storage entity (1 MiB, UTF-16 strings) beside its answer.
    /// </summary>
    [Range(1, 200_000)]
    public int MaxTotalChars { get; set; } = 128_000;

    [Range(1, 128_000)]
    public int MaxOutputTokens { get; set; } = 4096;
}
