using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// How many streams each caller holds open on this instance, against <see cref="JobStreamOptions.MaxOpenPerCaller"/>:
/// an open stream costs a connection and a poll loop, so one caller cannot tie up an instance with them.
/// </summary>
public sealed class OpenStreams(IOptions<JobStreamOptions> options)
{
    private readonly ConcurrentDictionary<string, int> open = new(StringComparer.Ordinal);

    /// <returns>A slot to dispose when the stream closes, or null when the caller already holds the most allowed.</returns>
    public IDisposable? TryOpen(string caller)
    {
        while (true)
        {
            var held = open.GetValueOrDefault(caller);
            if (held >= options.Value.MaxOpenPerCaller)
            {
                return null;
            }
            if (held == 0 ? open.TryAdd(caller, 1) : open.TryUpdate(caller, held + 1, held))
            {
                return new Slot(this, caller);
            }
        }
    }

    public int OpenFor(string caller) => open.GetValueOrDefault(caller);

    private void Close(string caller)
    {
        while (open.TryGetValue(caller, out var held))
        {
            if (held <= 1 ? open.TryRemove(new KeyValuePair<string, int>(caller, held)) : open.TryUpdate(caller, held - 1, held))
            {
                return;
            }
        }
    }

    private sealed class Slot(OpenStreams owner, string caller) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Close(caller);
            }
        }
    }
}
