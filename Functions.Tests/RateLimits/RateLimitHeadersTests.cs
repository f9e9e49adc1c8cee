using Functions.Core.RateLimits;

namespace Functions.Tests.RateLimits;

public sealed class RateLimitHeadersTests
{
    private static readonly RatePolicy[] Both =
    [
        new(RateLimitNames.Requests, 60, 12, TimeSpan.FromSeconds(30.2), null),
        new(RateLimitNames.Tokens, 100_000, 99_000, TimeSpan.FromMilliseconds(600), RateLimitNames.TokenUnit),
    ];

    [Fact]
    public void Headers_FollowTheIetfDraft_AndOpenAIsNames()
    {
        var headers = RateLimitHeaders.For(Both);

        Assert.Equal("\"rpm\";q=60;w=60, \"tpm\";q=100000;w=60;qu=\"tokens\"", headers["RateLimit-Policy"]);
        Assert.Equal("\"rpm\";r=12;t=31, \"tpm\";r=99000;t=1", headers["RateLimit"]);
        Assert.Equal("60", headers["x-ratelimit-limit-requests"]);
        Assert.Equal("12", headers["x-ratelimit-remaining-requests"]);
        Assert.Equal("30.2s", headers["x-ratelimit-reset-requests"]);
        Assert.Equal("100000", headers["x-ratelimit-limit-tokens"]);
        Assert.Equal("99000", headers["x-ratelimit-remaining-tokens"]);
        Assert.Equal("600ms", headers["x-ratelimit-reset-tokens"]);
    }

    [Fact]
    public void OnARefusal_TheRefusedPolicysResetIsTheRetryAfterInstant()
    {
        var headers = RateLimitHeaders.For(Both, new RateLimitRefusal(RateLimitNames.Requests, 60, 1, TimeSpan.FromSeconds(0.4)));

        Assert.Equal("\"rpm\";r=12;t=1, \"tpm\";r=99000;t=1", headers["RateLimit"]);
    }

    [Fact]
    public void NoLimits_NoHeaders()
    {
        Assert.Empty(RateLimitHeaders.For([]));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(20, "20ms")]
    [InlineData(1_500, "1.5s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(61_250, "1m1.25s")]
    public void ResetDurations_AreGoStyle_AsOpenAISendsThem(int milliseconds, string expected)
    {
        var text = RateLimitHeaders.GoDuration(TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal(expected, text);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Functions.Core.Resilience.RetryHints.ParseDuration(text));
    }
}
