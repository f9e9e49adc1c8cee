using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;

namespace Functions;

/// <summary>
/// The identity telemetry is sent as: the user-assigned managed identity named in the platform's
/// <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> (<c>ClientId=…;Authorization=AAD</c>), the same setting the
/// Functions host reads for its own telemetry; without one, <see cref="DefaultAzureCredential"/> (e.g. <c>az login</c>).
/// </summary>
internal static class AzureMonitorIdentity
{
    public static TokenCredential Credential(IConfiguration configuration)
    {
        var clientId = (configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .FirstOrDefault(pair => pair.Length == 2 && pair[0].Equals("ClientId", StringComparison.OrdinalIgnoreCase))?[1];
        return string.IsNullOrEmpty(clientId) ? new DefaultAzureCredential() : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
    }
}
