using Azure;

namespace Functions.Core.Storage;

/// <summary>What a storage call throws when storage, not the request, is at fault: answered with 503, never a 500.</summary>
public static class StorageFailure
{
    /// <remarks>Azure.Core throws <see cref="AggregateException"/> when its own retries on transport errors run out.</remarks>
    public static bool Is(Exception ex) =>
        ex is RequestFailedException or AggregateException or HttpRequestException or TimeoutException;
}
