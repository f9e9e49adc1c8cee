using Azure;
using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Storage;

/// <summary>Jobs larger than one Table Storage row (1 MiB), through the real <see cref="JobTable"/> on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RowOverflowTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private TableClient table = null!;
    private JobTable jobs = null!;

    public async Task InitializeAsync()
    {
        table = new TableServiceClient(azurite.ConnectionString).GetTableClient(AzuriteFixture.UniqueName("jobs"));
        await table.CreateAsync();
        jobs = new JobTable(table);
    }

    public Task DisposeAsync() => table.DeleteAsync();

    private async Task<Job> NewJobAsync() => await jobs.AddAsync(new Job(JobIds.New(TimeProvider.System), "alice", JobStatus.Running,
        new ChatRequest([new ChatMessage("user", "Write a lot.")], "gpt-4.1-mini", null, null), DateTimeOffset.UtcNow), CancellationToken.None);

    [Fact]
    public async Task JobWithAnAnswerOver1MiB_IsStoredAndReadBackWhole()
    {
        var job = await NewJobAsync();
        var content = string.Concat(Enumerable.Range(0, 160_000).Select(i => $"{i % 10}é😀"));
        Assert.True(content.Length * 2 > 1024 * 1024);

        var succeeded = await jobs.UpdateAsync(job.Succeed(new JobResult(content, "m", "stop", new TokenUsage(1, 0, 2)), DateTimeOffset.UtcNow),
            CancellationToken.None);
        var read = await jobs.GetAsync(job.Id, CancellationToken.None);

        Assert.Equal(content, read!.Result!.Content);
        Assert.Equal(succeeded.ETag, read.ETag);
        Assert.True(await table.QueryAsync<TableEntity>(entity => entity.PartitionKey == job.Id).CountAsync() > 1);
    }

    [Fact]
    public async Task OversizedUpdate_WithAStaleETag_IsRefusedLikeAnyOther()
    {
        var job = await NewJobAsync();
        await jobs.UpdateAsync(job with { ModelCalls = 1 }, CancellationToken.None);

        var stale = job.Succeed(new JobResult(new string('x', 600_000), "m", "stop", new TokenUsage(1, 0, 2)), DateTimeOffset.UtcNow);
        var refused = await Assert.ThrowsAnyAsync<RequestFailedException>(() => jobs.UpdateAsync(stale, CancellationToken.None));

        Assert.Equal(412, refused.Status);
        Assert.Null((await jobs.GetAsync(job.Id, CancellationToken.None))!.Result);
    }
}
