using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Functions.Core.Callers;

/// <summary>Decides which caller a request belongs to; jobs are visible only to the caller that created them.</summary>
public sealed class CallerResolver(IOptions<CallerOptions> options)
{
    public const string PrincipalIdHeader = "X-MS-CLIENT-PRINCIPAL-ID";
    private const int MaxCallerIdLength = 256;

    /// <returns>The caller id, or null when the request has no trusted caller and anonymous use is off.</returns>
    public string? Resolve(HttpRequest request)
    {
        var settings = options.Value;
        if (settings.TrustPrincipalHeader)
        {
            var principalId = request.Headers[PrincipalIdHeader].ToString().Trim();
            if (principalId.Length is > 0 and <= MaxCallerIdLength)
            {
                return principalId;
            }
        }

        return settings.AllowAnonymous ? settings.AnonymousCallerId : null;
    }

    /// <summary>The principal's roles, when the platform's principal headers are trusted; otherwise none.</summary>
    public IReadOnlySet<string> Roles(HttpRequest request) =>
        options.Value.TrustPrincipalHeader ? PrincipalRoles.Read(request.Headers[PrincipalRoles.Header].ToString()) : NoRoles;

    private static readonly IReadOnlySet<string> NoRoles = new HashSet<string>();
}
