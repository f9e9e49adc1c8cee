using Functions.Core.RateLimits;

namespace Functions.Tests.RateLimits;

public sealed class RateBucketTests
{
    private static readonly long Now = new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    [Fact]
    public void AFullBucket_AdmitsTheWholeLimitAtOnce_ThenOneUnitPerInterval()
    {
        var bucket = new RateBucket(10); // one unit every 6 s
        var tat = 0L;
        for (var i = 0; i < 10; i++)
        {
            tat = bucket.Take(tat, Now, 1).Tat ?? throw new Xunit.Sdk.XunitException($"unit {i + 1} refused");
        }

        var (refused, wait) = bucket.Take(tat, Now, 1);

        Assert.Null(refused);
        Assert.Equal(TimeSpan.FromSeconds(6), wait);
        Assert.Equal(0, bucket.Remaining(tat, Now));
        Assert.Equal(TimeSpan.FromMinutes(1), RateBucket.UntilFull(tat, Now));
        Assert.NotNull(bucket.Take(tat, Now + TimeSpan.FromSeconds(6).Ticks, 1).Tat);
        Assert.Equal(5, bucket.Remaining(tat, Now + TimeSpan.FromSeconds(30).Ticks));
    }

    [Fact]
    public void ACostAboveTheLimit_NeverFits()
    {
        var bucket = new RateBucket(1000);

        Assert.False(bucket.CanEverFit(1001));
        Assert.Null(bucket.Take(0, Now, 1001).Tat);
        Assert.NotNull(bucket.Take(0, Now, 1000).Tat);
    }

    [Fact]
    public void Refund_GivesBackUnits_ButAFullBucketHoldsNoMore()
    {
        var bucket = new RateBucket(1000);
        var tat = bucket.Take(0, Now, 800).Tat!.Value;

        Assert.Equal(200, bucket.Remaining(tat, Now));
        Assert.Equal(900, bucket.Remaining(bucket.Refund(tat, Now, 700), Now));
        Assert.Equal(1000, bucket.Remaining(bucket.Refund(tat, Now, 5000), Now));
        Assert.Equal(100, bucket.Remaining(bucket.Refund(tat, Now, -100), Now)); // a negative refund charges more
    }

    [Fact]
    public void Interval_RoundsUp_SoRoundingNeverAdmitsMoreThanTheLimit()
    {
        var bucket = new RateBucket(7);
        var tat = 0L;
        var admitted = 0;
        while (bucket.Take(tat, Now, 1).Tat is { } next)
        {
            tat = next;
            admitted++;
        }

        Assert.Equal(7, admitted);
    }
}
