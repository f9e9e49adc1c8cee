using System.Security.Claims;
using System.Text.Json;
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
    public const string PrincipalHeader = "X-MS-CLIENT-PRINCIPAL";
    private const int MaxPrincipalChars = 64 * 1024;

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

    /// <summary>
    /// True when the principal's claims include <paramref name="role"/> as a role: claim type <c>roles</c> (Entra ID
    /// app roles), the principal's own <c>role_typ</c>, or the standard role claim URI.
    /// </summary>
    internal static bool HasRole(string header, string role)
    {
        if (header.Length is 0 or > MaxPrincipalChars)
        {
            return false;
        }
        var bytes = new byte[header.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(header.Trim(), bytes, out var length))
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(bytes.AsMemory(0, length));
            var root = document.RootElement;
            if (Requests.JsonRules.FindUndecodableText(root) is not null || Requests.JsonRules.FindDuplicateProperty(root) is not null)
            {
                // Decoded as strictly as a request body: a claim no .NET string can hold ("\ud800"), or one said twice,
                // makes the whole principal untrustworthy, so it grants nothing.
                return false;
            }
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return false;
            }
            var roleType = Text(root, "role_typ");
            return claims.EnumerateArray().Any(claim => IsRoleClaim(claim, roleType) && Text(claim, "val") == role);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsRoleClaim(JsonElement claim, string? roleType) =>
        Text(claim, "typ") is { } type && (type is "roles" or ClaimTypes.Role || type == roleType);

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
