using System.Security.Claims;
using System.Text.Json;

namespace Functions.Core.Callers;

/// <summary>
/// The roles in App Service authentication's <c>X-MS-CLIENT-PRINCIPAL</c> header (base64 JSON claims): claims of type
/// <c>roles</c> (Entra ID app roles), the principal's own <c>role_typ</c>, or the standard role claim URI. The header is
/// trusted under exactly the rule <see cref="CallerResolver"/> applies to the principal id header.
/// </summary>
public static class PrincipalRoles
{
    public const string Header = "X-MS-CLIENT-PRINCIPAL";
    private const int MaxHeaderChars = 64 * 1024;

    /// <returns>The roles, or an empty set when the header is missing, too large or not a principal.</returns>
    public static IReadOnlySet<string> Read(string header)
    {
        var roles = new HashSet<string>(StringComparer.Ordinal);
        if (header.Length is 0 or > MaxHeaderChars)
        {
            return roles;
        }
        var bytes = new byte[header.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(header.Trim(), bytes, out var length))
        {
            return roles;
        }
        try
        {
            using var document = JsonDocument.Parse(bytes.AsMemory(0, length));
            var root = document.RootElement;
            if (Requests.JsonRules.FindUndecodableText(root) is not null || Requests.JsonRules.FindDuplicateProperty(root) is not null)
            {
                // Decoded as strictly as a request body: a claim no .NET string can hold ("\ud800"), or one said twice,
                // makes the whole principal untrustworthy, so it grants nothing.
                return roles;
            }
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return roles;
            }
            var roleType = Text(root, "role_typ");
            foreach (var claim in claims.EnumerateArray())
            {
                if (IsRoleClaim(claim, roleType) && Text(claim, "val") is { Length: > 0 } role)
                {
                    roles.Add(role);
                }
            }
        }
        catch (JsonException)
        {
            roles.Clear();
        }
        return roles;
    }

    private static bool IsRoleClaim(JsonElement claim, string? roleType) =>
        Text(claim, "typ") is { } type && (type is "roles" or ClaimTypes.Role || type == roleType);

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
