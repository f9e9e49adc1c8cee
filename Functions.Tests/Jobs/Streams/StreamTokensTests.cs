using Functions.Core.Jobs.Streams;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Jobs.Streams;

public sealed class StreamTokensTests
{
    private const string JobId = "0198b8a1c3d47e2f9a0b1c2d3e4f5a6b";
    private const string Key = TestStreamTokens.Key;
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    private StreamTokens Tokens(string? key = Key) => TestStreamTokens.Create(time, key);

    private static StreamToken Parse(string token) => StreamToken.TryParse(token) ?? throw new InvalidOperationException(token);

    [Fact]
    public async Task AToken_OpensItsJobForItsCaller_AndNothingElse()
    {
        var tokens = Tokens();

        var token = Parse(await tokens.IssueAsync(JobId, "alice", CancellationToken.None));

        Assert.True(await tokens.IsValidAsync(token, JobId, "alice", CancellationToken.None));
        Assert.False(await tokens.IsValidAsync(token, JobId, "bob", CancellationToken.None));
        Assert.False(await tokens.IsValidAsync(token, "0198b8a1c3d47e2f9a0b1c2d3e4f5a6c", "alice", CancellationToken.None));
    }

    [Fact]
    public async Task AToken_ExpiresAfterItsLifetime_AndALaterExpiryCannotBeWrittenIn()
    {
        var tokens = Tokens();
        var text = await tokens.IssueAsync(JobId, "alice", CancellationToken.None);
        var (expiry, mac) = (long.Parse(text.Split('.')[0]), text.Split('.')[1]);

        time.Advance(TimeSpan.FromMinutes(29));
        Assert.True(await tokens.IsValidAsync(Parse(text), JobId, "alice", CancellationToken.None));
        Assert.False(await tokens.IsValidAsync(Parse($"{expiry + 3600}.{mac}"), JobId, "alice", CancellationToken.None));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(tokens.IsExpired(Parse(text)));
        Assert.False(await tokens.IsValidAsync(Parse(text), JobId, "alice", CancellationToken.None));
    }

    [Fact]
    public async Task TheSameKey_OnAnotherInstance_AcceptsIt_AnotherKeyDoesNot()
    {
        var token = Parse(await Tokens().IssueAsync(JobId, "alice", CancellationToken.None));

        Assert.True(await Tokens().IsValidAsync(token, JobId, "alice", CancellationToken.None));
        Assert.False(await Tokens(Key + "-rotated").IsValidAsync(token, JobId, "alice", CancellationToken.None));
    }

    [Fact]
    public async Task WithNoKeyConfigured_ARandomKeyPerInstance_SignsThem()
    {
        var one = Tokens(key: null);
        var other = Tokens(key: null);

        var token = Parse(await one.IssueAsync(JobId, "alice", CancellationToken.None));

        Assert.False(await one.HasConfiguredKeyAsync(CancellationToken.None));
        Assert.True(await one.IsValidAsync(token, JobId, "alice", CancellationToken.None));
        Assert.False(await other.IsValidAsync(token, JobId, "alice", CancellationToken.None));
    }

    [Fact]
    public async Task AKeyTooShortToBeOne_IsRefused()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Tokens("short").HasConfiguredKeyAsync(CancellationToken.None));

        Assert.Contains("at least 32", error.Message);
        Assert.DoesNotContain("short", error.Message); // a secret's value never reaches a message
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData(".abc")]
    [InlineData("12.")]
    [InlineData("12.not*base64url")]
    [InlineData("-12.AAAA")]
    [InlineData("12.AAAA")] // a MAC of the wrong length
    [InlineData("999999999999999999999.AAAA")]
    public void MalformedTokens_DoNotParse(string text) => Assert.Null(StreamToken.TryParse(text));
}
