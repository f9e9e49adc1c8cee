using Azure.Data.Tables;
using Functions.Core.Cache;
using Functions.Core.Jobs;
using Functions.Core.Storage;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Cache;

[Collection(AzuriteCollection.Name)]
public sealed class CacheTableTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly string Key = new('a', 64);
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private TableClient table = null!;
    private CacheTable cache = null!;

    public async Task InitializeAsync()
    {
        table = new TableServiceClient(azurite.ConnectionString).GetTableClient(AzuriteFixture.UniqueName("cache"));
        await table.CreateAsync();
        cache = new CacheTable(table, time);
    }

    public Task DisposeAsync() => table.DeleteAsync();

    private CacheEntry Entry(string content, TimeSpan ttl, string key = "") => new(key.Length > 0 ? key : Key, "job-1", "alice",
        new JobResult(content, "gpt-4.1-mini-2025-04-14", "stop", new TokenUsage(12, 4, 30)),
        time.GetUtcNow(), time.GetUtcNow(), time.GetUtcNow(), time.GetUtcNow() + ttl);

    [Fact]
    public async Task StoredEntry_IsReadBackWhole_UntilItExpires_ThenIsNotServedAndIsRemoved()
    {
        var stored = Entry("Paris.", TimeSpan.FromMinutes(10));
        Assert.True(await cache.StoreAsync(stored, CancellationToken.None));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(stored, await cache.GetAsync(Key, CancellationToken.None));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await cache.GetAsync(Key, CancellationToken.None));
        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>(Key, "answer")).HasValue);
    }

    [Fact]
    public void Entry_IsFreshOnlyWithinBothItsTtlAndTheRequestsMaxAge()
    {
        var entry = Entry("Paris.", TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(TimeSpan.FromMinutes(8), entry.FreshFor(TimeSpan.FromDays(1), time.GetUtcNow()));
        Assert.Equal(TimeSpan.FromMinutes(1), entry.FreshFor(TimeSpan.FromMinutes(3), time.GetUtcNow()));
        Assert.Null(entry.FreshFor(TimeSpan.FromMinutes(2), time.GetUtcNow()));
    }

    [Fact]
    public async Task AnswerOver64KiB_IsSplitAcrossProperties_AndReadBackExactly()
    {
        // An emoji (a surrogate pair) straddling each property boundary must survive the split.
        var content = string.Concat(Enumerable.Repeat(new string('x', TextChunks.CharsPerProperty - 1) + "😀", 3)) + "end";
        Assert.True(content.Length * 2 > 64 * 1024);

        Assert.True(await cache.StoreAsync(Entry(content, TimeSpan.FromHours(1)), CancellationToken.None));

        Assert.Equal(content, (await cache.GetAsync(Key, CancellationToken.None))!.Result.Content);
    }

    [Fact]
    public async Task AnswerOver1MiB_IsNotStored()
    {
        var content = new string('x', 1024 * 1024 + 1);

        Assert.False(await cache.StoreAsync(Entry(content, TimeSpan.FromHours(1)), CancellationToken.None));
        Assert.Null(await cache.GetAsync(Key, CancellationToken.None));
    }

    [Theory]
    [InlineData("x", 2)]
    [InlineData("é", 6)]
    [InlineData("😀", 12)]
    public async Task LargestCacheableAnswer_FitsOneEntity_WhateverItsScript(string unit, int bytesPerUnit)
    {
        var content = string.Concat(Enumerable.Repeat(unit, (CacheTable.MaxContentBytes - 4) / bytesPerUnit));

        Assert.True(await cache.StoreAsync(Entry(content, TimeSpan.FromHours(1)), CancellationToken.None));
        Assert.Equal(content, (await cache.GetAsync(Key, CancellationToken.None))!.Result.Content);
        Assert.False(await cache.StoreAsync(Entry(content + unit, TimeSpan.FromHours(1)), CancellationToken.None));
    }

    [Fact]
    public async Task RemoveExpired_RemovesExpiredAnswersAndLeases_AndNothingElse()
    {
        await cache.StoreAsync(Entry("old", TimeSpan.FromMinutes(1), new string('1', 64)), CancellationToken.None);
        await cache.StoreAsync(Entry("new", TimeSpan.FromHours(1), new string('2', 64)), CancellationToken.None);
        await cache.TryLeadAsync(new string('3', 64), "job-3", TimeSpan.FromMinutes(1), CancellationToken.None);
        await cache.TryLeadAsync(new string('4', 64), "job-4", TimeSpan.FromHours(1), CancellationToken.None);

        time.Advance(TimeSpan.FromMinutes(5));
        var removed = await cache.RemoveExpiredAsync(CancellationToken.None);

        Assert.Equal(2, removed);
        var left = await table.QueryAsync<TableEntity>().Select(entity => entity.PartitionKey[0]).ToListAsync();
        Assert.Equal(['2', '4'], left.Order());
    }
}
