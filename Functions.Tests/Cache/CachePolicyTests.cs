using Functions.Core.Cache;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Cache;

public sealed class CachePolicyTests
{
    private static readonly CacheOptions Options = new() { DefaultTtl = TimeSpan.FromHours(1) };

    private static async Task<CacheTicket?> Decide(string? cacheControl, string temperature = "\"temperature\":0", CacheOptions? options = null)
    {
        var request = await ChatRequests.ParseAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]," + temperature + "}");
        return CachePolicy.Decide(cacheControl, request, "alice", options ?? Options);
    }

    [Fact]
    public async Task Deterministic_IsCachedForTheDefaultTtl_AndMayUseStoredAnswers()
    {
        var ticket = await Decide(null);

        Assert.NotNull(ticket);
        Assert.Equal(TimeSpan.FromHours(1), ticket.Ttl);
        Assert.True(ticket.UseStored);
        Assert.Equal(CacheOutcome.Pending, ticket.Outcome);
    }

    [Theory]
    [InlineData("\"temperature\":0.7")]
    [InlineData("\"model\":\"gpt-4.1-mini\"")]
    public async Task NotDeterministic_WithoutMaxAge_IsNotCached(string setting)
    {
        Assert.Null(await Decide(null, setting));
        Assert.Null(await Decide("no-cache", setting));
    }

    [Fact]
    public async Task MaxAge_OptsIn_AndIsCappedByTheDefaultTtl()
    {
        var shorter = await Decide("max-age=60", "\"temperature\":0.7");
        var longer = await Decide("public, max-age=999999", "\"temperature\":0.7");

        Assert.Equal(TimeSpan.FromSeconds(60), shorter!.Ttl);
        Assert.Equal(TimeSpan.FromHours(1), longer!.Ttl);
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("max-age=60, no-store")]
    [InlineData("max-age=0")]
    public async Task NoStoreOrMaxAgeZero_IsNotCached_EvenWhenDeterministic(string cacheControl)
    {
        Assert.Null(await Decide(cacheControl));
    }

    [Fact]
    public async Task NoCache_ForcesAFreshCall_WhoseAnswerIsStillStored()
    {
        var ticket = await Decide("no-cache");

        Assert.NotNull(ticket);
        Assert.False(ticket.UseStored);
        Assert.Equal(TimeSpan.FromHours(1), ticket.Ttl);
    }

    [Fact]
    public async Task UnparsableHeader_IsIgnored()
    {
        Assert.Equal(TimeSpan.FromHours(1), (await Decide("max-age=soon"))?.Ttl);
    }

    [Fact]
    public async Task Scope_CallerKeysDifferPerCaller_SharedKeysDoNot()
    {
        var request = await ChatRequests.ParseAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0}");
        var shared = new CacheOptions { Scope = CacheScope.Shared };

        Assert.NotEqual(CachePolicy.Decide(null, request, "alice", Options)!.Key, CachePolicy.Decide(null, request, "bob", Options)!.Key);
        Assert.Equal(CachePolicy.Decide(null, request, "alice", shared)!.Key, CachePolicy.Decide(null, request, "bob", shared)!.Key);
    }
}
