using Functions.Core.Jobs.Streams;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Jobs.Streams;

public sealed class OpenStreamsTests
{
    [Fact]
    public void ACaller_HoldsAtMostTheLimit_PerCaller_AndAClosedSlotIsFreeAgain()
    {
        var open = new OpenStreams(Options.Create(new JobStreamOptions { MaxOpenPerCaller = 2 }));

        var first = open.TryOpen("alice");
        var second = open.TryOpen("alice");
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(open.TryOpen("alice"));
        Assert.NotNull(open.TryOpen("bob"));

        first!.Dispose();
        first.Dispose(); // twice gives back one slot, not two
        Assert.Equal(1, open.OpenFor("alice"));
        Assert.NotNull(open.TryOpen("alice"));
        Assert.Null(open.TryOpen("alice"));
    }

    [Fact]
    public async Task UnderConcurrency_TheLimitHolds_AndEverySlotComesBack()
    {
        var open = new OpenStreams(Options.Create(new JobStreamOptions { MaxOpenPerCaller = 5 }));
        var most = 0;

        await Parallel.ForAsync(0, 2000, async (_, _) =>
        {
            using var slot = open.TryOpen("alice");
            if (slot is not null)
            {
                InterlockedMax(ref most, open.OpenFor("alice"));
                await Task.Yield();
            }
        });

        Assert.InRange(most, 1, 5);
        Assert.Equal(0, open.OpenFor("alice"));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
