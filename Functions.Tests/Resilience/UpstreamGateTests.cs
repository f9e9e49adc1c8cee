using Azure.Data.Tables;
using Functions.Core.Resilience;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Resilience;

[Collection(AzuriteCollection.Name)]
public sealed class UpstreamGateTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
    private TableClient table = null!;

    public async Task InitializeAsync()
    {
        table = new TableClient(azurite.ConnectionString, AzuriteFixture.UniqueName("gate"));
        await table.CreateIfNotExistsAsync();
    }

    public async Task DisposeAsync() => await table.DeleteAsync();

    [Fact]
    public async Task ClosedGate_ReopensAtItsTime_AndIsNeverShortened()
    {
        var gate = new UpstreamGate(table, time);
        var now = time.GetUtcNow();

        await gate.CloseUntilAsync(now.AddSeconds(5), "rate_limited", CancellationToken.None);
        await gate.CloseUntilAsync(now.AddSeconds(2), "rate_limited", CancellationToken.None);
        var closed = await gate.ClosedUntilAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(5.1));
        var reopened = await gate.ClosedUntilAsync(CancellationToken.None);

        Assert.Equal((now.AddSeconds(5), "rate_limited"), closed);
        Assert.Null(reopened);
    }

    [Fact]
    public async Task ConcurrentClosers_TheLatestTimeWins()
    {
        var gates = Enumerable.Range(0, 8).Select(_ => new UpstreamGate(table, time)).ToList();
        var now = time.GetUtcNow();

        await Task.WhenAll(gates.Select((gate, i) => gate.CloseUntilAsync(now.AddSeconds(i + 1), "rate_limited", CancellationToken.None)));

        Assert.Equal(now.AddSeconds(8), (await gates[0].ClosedUntilAsync(CancellationToken.None))?.Until);
    }

    [Fact]
    public async Task CircuitBreaker_OpensAtTheThreshold_ForEveryInstance_AndASuccessResetsIt()
    {
        var gate = new UpstreamGate(table, time);
        var options = Options.Create(new ResilienceOptions { CircuitFailureThreshold = 3, CircuitBreakDuration = TimeSpan.FromSeconds(30) });
        var breaker = new CircuitBreaker(gate, options, time, NullLogger<CircuitBreaker>.Instance);
        var otherInstance = new UpstreamGate(table, time);

        await breaker.RecordFailureAsync(CancellationToken.None);
        await breaker.RecordFailureAsync(CancellationToken.None);
        var beforeThreshold = await otherInstance.ClosedUntilAsync(CancellationToken.None);
        await breaker.RecordFailureAsync(CancellationToken.None);
        var open = await otherInstance.ClosedUntilAsync(CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(31));
        breaker.RecordSuccess();
        await breaker.RecordFailureAsync(CancellationToken.None);
        await breaker.RecordFailureAsync(CancellationToken.None);
        var afterReset = await otherInstance.ClosedUntilAsync(CancellationToken.None);

        Assert.Null(beforeThreshold);
        Assert.Equal((time.GetUtcNow().AddSeconds(-31).AddSeconds(30), "circuit_open"), open);
        Assert.Null(afterReset);
    }
}
