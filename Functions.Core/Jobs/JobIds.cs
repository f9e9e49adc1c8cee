using System.Security.Cryptography;
using System.Text;

namespace Functions.Core.Jobs;

/// <summary>Job ids are 32 hex digits: version-7 GUIDs (time-ordered), or derived from an idempotency key.</summary>
public static class JobIds
{
    public static string New(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("N");

    /// <summary>
    /// The same caller and key always name the same job, so inserting its row is the idempotency lock: no separate
    /// table, and no window in which two submits with one key both create a job.
    /// </summary>
    public static string ForIdempotencyKey(string caller, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"idempotency\n{caller}\n{key}")).AsSpan(0, 16));

    /// <summary>RFC draft-ietf-httpapi-idempotency-key-header: a string; here 1 to 255 visible ASCII characters.</summary>
    public static bool IsValidIdempotencyKey(string key) =>
        key.Length is > 0 and <= 255 && key.All(c => c is > ' ' and <= '~');

    /// <summary>True for a well-formed id; anything else is answered with 404 without touching storage.</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 32 } && Guid.TryParseExact(id, "N", out _);
}
