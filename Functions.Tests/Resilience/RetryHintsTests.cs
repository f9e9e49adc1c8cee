using Functions.Core.Resilience;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Resilience;

public sealed class RetryHintsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static TimeSpan? Parse(params (string Name, string Value)[] headers) =>
        RetryHints.Parse(name => headers.FirstOrDefault(h => h.Name == name).Value, Now);

    [Theory]
    [InlineData("retry-after-ms", "1500", 1500)]
    [InlineData("retry-after-ms", "0.5", 0.5)]
    [InlineData("retry-after", "7", 7000)]
    [InlineData("retry-after", "Mon, 23 Nov 2026 12:00:30 GMT", 30000)]
    [InlineData("x-ratelimit-reset-requests", "250ms", 250)]
    [InlineData("x-ratelimit-reset-tokens", "6m0s", 360000)]
    [InlineData("x-ratelimit-reset-tokens", "1h2m3.5s", 3723500)]
    public void EachHeaderForm_IsUnderstood(string header, string value, double expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Parse((header, value)));

    [Fact]
    public void RetryAfter_IsTheServersWord_BucketResetsDoNotOverrideIt() =>
        Assert.Equal(TimeSpan.FromMilliseconds(800),
            Parse(("retry-after-ms", "800"), ("retry-after", "2"), ("x-ratelimit-reset-tokens", "6m0s")));

    [Fact]
    public void WithoutRetryAfter_TheLaterBucketResetIsTheHint() =>
        Assert.Equal(TimeSpan.FromSeconds(20), Parse(("x-ratelimit-reset-requests", "250ms"), ("x-ratelimit-reset-tokens", "20s")));

    [Theory]
    [InlineData("retry-after", "soon")]
    [InlineData("retry-after", "Mon, 23 Nov 2026 11:59:00 GMT")] // in the past
    [InlineData("x-ratelimit-reset-requests", "5 parsecs")]
    [InlineData("retry-after-ms", "-3")]
    public void UnusableHints_AreIgnored(string header, string value) => Assert.Null(Parse((header, value)));
}

public sealed class RetryPolicyTests
{
    private static RetryPolicy Policy(int seed) => new(Options.Create(new ResilienceOptions
    {
        BaseBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1),
    }), new Random(seed));

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(5, 1000)] // capped
    [InlineData(30, 1000)]
    public void Backoff_IsFullJitterUnderADoublingCeiling(int retry, int ceilingMs)
    {
        var policy = Policy(seed: retry);
        var delays = Enumerable.Range(0, 200).Select(_ => policy.Backoff(retry, serverHint: null)).ToList();

        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, TimeSpan.FromMilliseconds(ceilingMs)));
        Assert.True(delays.Distinct().Count() > 100, "jitter spreads retries out");
    }

    [Fact]
    public void Spread_AfterAGateReopens_IsRandomAndUnderOneBaseBackoff()
    {
        var policy = Policy(7);
        var spreads = Enumerable.Range(0, 200).Select(_ => policy.Spread()).ToList();

        Assert.All(spreads, spread => Assert.InRange(spread, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)));
        Assert.True(spreads.Distinct().Count() > 100, "waiters are spread out");
    }

    [Fact]
    public void ServerHint_IsHonouredWhenItAsksForLonger() =>
        Assert.Equal(TimeSpan.FromSeconds(5), Policy(1).Backoff(1, TimeSpan.FromSeconds(5)));

    [Theory]
    [InlineData(0.0, 1)]      // jitter drew 0 ms: the server's 1 ms wins
    [InlineData(0.5, 200)]    // jitter drew half of retry 3's 400 ms ceiling: longer than the hint, so it stands
    [InlineData(0.999, 399.6)]
    public void ShortServerHint_IsTheFloor_TheJitterAboveItStands(double draw, double expectedMs)
    {
        var policy = new RetryPolicy(Options.Create(new ResilienceOptions
        {
            BaseBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1),
        }), new FixedDraw(draw));

        var delay = policy.Backoff(3, TimeSpan.FromMilliseconds(1));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), delay);
    }

    /// <summary>A Random whose every draw is the same, so a jittered delay is known exactly.</summary>
    private sealed class FixedDraw(double value) : Random
    {
        public override double NextDouble() => value;
    }
}
