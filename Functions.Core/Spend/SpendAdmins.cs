using Functions.Core.Callers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Functions.Core.Spend;

/// <summary>
/// Who may read spend: a caller listed in <c>Spend:AdminCallers</c>, or a principal whose App Service
/// authentication claims (<c>X-MS-CLIENT-PRINCIPAL</c>, base64 JSON) hold the <c>Spend:AdminRole</c> role. That header is
/// trusted under exactly the rule <see cref="CallerResolver"/> applies to the principal id header: only when App
/// Service authentication sets it. The shared anonymous caller is never an admin.
/// </summary>
public sealed class SpendAdmins(IOptions<SpendOptions> spend, IOptions<CallerOptions> callers)
{
    public const string PrincipalHeader = PrincipalRoles.Header;

    public bool IsAdmin(HttpRequest request, string caller)
    {
        var callerOptions = callers.Value;
        if (caller == callerOptions.AnonymousCallerId)
        {
            return false;
        }
        return spend.Value.AdminCallerSet.Contains(caller)
               || (callerOptions.TrustPrincipalHeader && HasRole(request.Headers[PrincipalHeader].ToString(), spend.Value.AdminRole));
    }

    /// <summary>True when the principal's claims (see <see cref="PrincipalRoles"/>) include <paramref name="role"/>.</summary>
    internal static bool HasRole(string header, string role) => PrincipalRoles.Read(header).Contains(role);
}
