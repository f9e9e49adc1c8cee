using System.ComponentModel.DataAnnotations;

namespace Functions.Core.RateLimits;

/// <summary>
/// Per-caller limits and upstream pacing. Bound from the <c>RateLimits</c> configuration section; an unset limit is no
/// limit. The upstream limits themselves are per model, in <c>OpenAI:Models</c> (see <see cref="Routing.ModelOptions"/>).
/// </summary>
public sealed class RateLimitOptions : IValidatableObject
{
    public const string SectionName = "RateLimits";

    /// <summary>Every signed-in caller's limits.</summary>
    public CallerLimit PerCaller { get; set; } = new();

    /// <summary>The shared anonymous caller's limits (one bucket for everyone anonymous); unset values fall back to <see cref="PerCaller"/>.</summary>
    public CallerLimit Anonymous { get; set; } = new();

    /// <summary>Overrides by role (<c>RateLimits:Roles:{role}:RequestsPerMinute</c>); a caller in several gets the most generous.</summary>
    public Dictionary<string, CallerLimit> Roles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Take upstream slots before each model call (off: only react to the provider's 429s, through the shared gate). The
    /// queue worker sleeps a short wait for a slot and requeues a long one; the interactive door waits up to
    /// <c>ChatCompletions:MaxUpstreamWait</c>, then answers 429 with Retry-After.
    /// </summary>
    public bool Pacing { get; set; } = true;

    /// <summary>
    /// How much of a model's quota an instance leases from the shared counter at a time, as time at the model's rate (1 s at
    /// 600 RPM is 10 calls): one storage round trip buys that many calls. Longer leases save round trips and hold back more.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan PacingLease { get; set; } = TimeSpan.FromSeconds(1);

    [Required, RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "RateLimits:Table must be a valid table name.")]
    public string Table { get; set; } = "ratelimits";

    /// <summary>The limits that apply to a caller with these roles.</summary>
    public CallerLimit For(bool anonymous, IReadOnlyCollection<string> roles)
    {
        var limit = anonymous
            ? new CallerLimit
            {
                RequestsPerMinute = Anonymous.RequestsPerMinute ?? PerCaller.RequestsPerMinute,
                TokensPerMinute = Anonymous.TokensPerMinute ?? PerCaller.TokensPerMinute,
            }
            : PerCaller;
        if (anonymous || roles.Count == 0 || Roles.Count == 0)
        {
            return limit;
        }
        var overrides = Roles.Where(role => roles.Contains(role.Key)).Select(role => role.Value).ToList();
        return overrides.Count == 0
            ? limit
            : new CallerLimit
            {
                RequestsPerMinute = overrides.Max(o => o.RequestsPerMinute) ?? limit.RequestsPerMinute,
                TokensPerMinute = overrides.Max(o => o.TokensPerMinute) ?? limit.TokensPerMinute,
            };
    }

    /// <summary>Whether any caller has a token limit (if none does, settling usage needs no storage at all).</summary>
    public bool AnyTokenLimit => PerCaller.TokensPerMinute is not null || Anonymous.TokensPerMinute is not null
                                 || Roles.Values.Any(role => role.TokensPerMinute is not null);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var limits = new[] { ($"{SectionName}:PerCaller", PerCaller), ($"{SectionName}:Anonymous", Anonymous) }
            .Concat(Roles.Select(role => ($"{SectionName}:Roles:{role.Key}", role.Value)));
        foreach (var (path, limit) in limits)
        {
            foreach (var error in limit.Validate(path))
            {
                yield return error;
            }
        }
    }
}

/// <summary>Requests and tokens per minute; null is no limit.</summary>
public sealed class CallerLimit
{
    public int? RequestsPerMinute { get; set; }

    public int? TokensPerMinute { get; set; }

    public bool IsLimited => RequestsPerMinute is not null || TokensPerMinute is not null;

    internal IEnumerable<ValidationResult> Validate(string path)
    {
        if (RequestsPerMinute is <= 0)
        {
            yield return new ValidationResult($"{path}:RequestsPerMinute must be a positive whole number (got {RequestsPerMinute}); leave it unset for no limit.");
        }
        if (TokensPerMinute is <= 0)
        {
            yield return new ValidationResult($"{path}:TokensPerMinute must be a positive whole number (got {TokensPerMinute}); leave it unset for no limit.");
        }
    }
}
