namespace Functions.Core.Jobs;

/// <summary>Job ids are version-7 GUIDs in "N" form: time-ordered, unguessable enough to share in a URL.</summary>
public static class JobIds
{
    public static string New(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("N");

    /// <summary>True for a well-formed id; anything else is answered with 404 without touching storage.</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 32 } && Guid.TryParseExact(id, "N", out _);
}
