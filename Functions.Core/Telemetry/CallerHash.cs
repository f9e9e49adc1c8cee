using System.Security.Cryptography;
using System.Text;

namespace Functions.Core.Telemetry;

/// <summary>
/// How a caller appears in telemetry and logs: a stable pseudonym (the same caller always hashes the same, so traces and
/// dashboards can group by it), never the id itself. It is not anonymous against someone who can guess ids: the spend
/// report, for admins, is where real caller ids are read.
/// </summary>
public static class CallerHash
{
    public static string Of(string caller)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("caller:" + caller), hash);
        return Convert.ToHexStringLower(hash[..8]);
    }
}
