namespace Functions.Core.Callers;

/// <summary>Who a request is from. Bound from the <c>Callers</c> configuration section.</summary>
public sealed class CallerOptions
{
    public const string SectionName = "Callers";

    /// <summary>
    /// Trust the <c>X-MS-CLIENT-PRINCIPAL-ID</c> header. App Service authentication sets and sanitises it, so it
    /// is trustworthy only when that authentication is on; otherwise any client could claim any identity.
    /// Defaults to the platform's <c>WEBSITE_AUTH_ENABLED</c> setting (see <see cref="ServiceCollectionExtensions"/>).
    /// </summary>
    public bool TrustPrincipalHeader { get; set; }

    /// <summary>Serve requests with no trusted caller as one shared anonymous caller; when false they get 401.</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>The caller id every anonymous request shares (anonymous callers can read each other's jobs).</summary>
    public string AnonymousCallerId { get; set; } = "anonymous";
}
