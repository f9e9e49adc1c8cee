using Azure.Data.Tables;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;
using Functions.Core.Tokens;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.Jobs.Streams;

/// <summary>The worker's side of a stream, against Azurite, on a clock the test moves.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobStreamWriterTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private TableClient table = null!;
    private JobStreamTable log = null!;

    public async Task InitializeAsync()
    {
        table = new TableServiceClient(azurite.ConnectionString).GetTableClient(AzuriteFixture.UniqueName("streams"));
        await table.CreateAsync();
        log = new JobStreamTable(table);
    }

    public Task DisposeAsync() => table.DeleteAsync();

    private JobStreamWriter Writer(int flushTokens = 64) => new(log, new TokenCounter(),
        Options.Create(new JobStreamOptions { FlushInterval = TimeSpan.FromMilliseconds(100), FlushTokens = flushTokens }), time,
        NullLogger<JobStreamWriter>.Instance);

    private static Job Job(int modelCalls) => new(Guid.CreateVersion7().ToString("N"), "alice", JobStatus.Running,
        new ChatRequest([new ChatMessage("user", "hi")], "gpt-4.1-mini", null, null), DateTimeOffset.UnixEpoch, ModelCalls: modelCalls);

    private async Task<List<StreamEntry>> RowsAsync(Job job) => [.. (await log.ReadAsync(job.Id, "", CancellationToken.None)).Select(row => row.Entry)];

    /// <summary>Waits (in real time, for the pump's write to land) until the log holds <paramref name="count"/> rows.</summary>
    private async Task<List<StreamEntry>> RowsWhenAsync(Job job, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var rows = await RowsAsync(job);
            if (rows.Count >= count || DateTime.UtcNow > deadline)
            {
                return rows;
            }
            await Task.Delay(10);
        }
    }

    private static ValueTask Send(StreamAttempt attempt, string text) => attempt.AppendAsync(new ChatDelta(text), CancellationToken.None);

    [Fact]
    public async Task TheFirstDelta_IsWrittenAtOnce_LaterOnes_WhenTheOldestHasWaitedTheFlushInterval()
    {
        var job = Job(modelCalls: 1);
        await using var attempt = await Writer().BeginAsync(job, CancellationToken.None);

        await Send(attempt, "Hel");
        Assert.Equal(["Hel"], (await RowsWhenAsync(job, 1)).Single().Deltas);

        await Send(attempt, "lo");
        await Task.Delay(50); // room for a pump that would write at once (it must not: the clock has not moved)
        await Send(attempt, " world");
        time.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(50);
        Assert.Single(await RowsAsync(job));
        time.Advance(TimeSpan.FromMilliseconds(1));
        var rows = await RowsWhenAsync(job, 2);

        Assert.Equal(["lo", " world"], rows[1].Deltas);
        Assert.Equal((1L, 3L), (rows[1].After, rows[1].Last));
    }

    [Fact]
    public async Task HeldDeltasWorthFlushTokens_AreWrittenWithoutWaiting_AndCompleteWritesTheRest()
    {
        var job = Job(modelCalls: 1);
        var attempt = await Writer(flushTokens: 4).BeginAsync(job, CancellationToken.None);

        await Send(attempt, "First");
        await RowsWhenAsync(job, 1);
        foreach (var word in new[] { " one", " two", " three", " four", " five" })
        {
            await Send(attempt, word);
        }
        var rows = await RowsWhenAsync(job, 2); // the clock never moves: only the token count can have written this
        Assert.Equal([" one", " two", " three", " four"], rows[1].Deltas.Take(4));

        await attempt.CompleteAsync();
        var all = await RowsAsync(job);
        Assert.Equal("First one two three four five", string.Concat(all.SelectMany(row => row.Deltas)));
        Assert.Equal(6, all[^1].Last);
    }

    [Fact]
    public async Task AtTheDefaults_AStreamAtAFastModelsPace_CostsAtMost40WritesPer1000Tokens()
    {
        // A word (two or three tokens) every 20 ms of the clock, about 120 tokens a second, as the benchmark's model
        // streams. The real pause after each word lets the pump keep up, as it would behind a real model: a bound that
        // follows the clock would write every few words here.
        var job = Job(modelCalls: 1);
        var counter = new TokenCounter();
        var writer = new JobStreamWriter(log, counter, Options.Create(new JobStreamOptions()), time, NullLogger<JobStreamWriter>.Instance);
        var words = Enumerable.Range(1, 300).Select(i => i == 1 ? "Answer" : $" word{i}").ToList();
        await using (var attempt = await writer.BeginAsync(job, CancellationToken.None))
        {
            await Send(attempt, words[0]);
            Assert.Equal(["Answer"], (await RowsWhenAsync(job, 1)).Single().Deltas); // the first delta alone, at once
            foreach (var word in words.Skip(1))
            {
                time.Advance(TimeSpan.FromMilliseconds(20));
                await Send(attempt, word);
                await Task.Delay(1);
            }
        }

        var rows = await RowsAsync(job);
        var tokens = words.Sum(word => counter.CountText("gpt-4.1-mini", word));
        Assert.Equal(string.Concat(words), string.Concat(rows.SelectMany(row => row.Deltas)));
        Assert.True(rows.Count * 1000.0 / tokens <= 40, $"{rows.Count} writes for {tokens} tokens");
    }

    [Fact]
    public async Task ALaterAttempt_ContinuesTheIds_BehindOneRestartMarker()
    {
        var first = Job(modelCalls: 1);
        await using (var attempt = await Writer().BeginAsync(first, CancellationToken.None))
        {
            await Send(attempt, "broken");
            await Send(attempt, " off");
        }

        var second = first with { ModelCalls = 2 };
        await using (await Writer().BeginAsync(second, CancellationToken.None))
        {
            // Nothing streamed: the third call must not add a second marker.
        }
        var third = first with { ModelCalls = 3 };
        await using (var attempt = await Writer().BeginAsync(third, CancellationToken.None))
        {
            await Send(attempt, "Answer");
        }

        var rows = await RowsAsync(first);
        Assert.Equal(["broken", " off"], rows.Take(rows.Count - 2).SelectMany(row => row.Deltas));
        var marker = rows[^2];
        Assert.Equal((2L, 2), (marker.After, marker.RestartAttempt!.Value));
        Assert.Equal(2L, rows[^1].After);
        Assert.Equal(["Answer"], rows[^1].Deltas);
        Assert.Equal((3L, false), await log.TailAsync(first.Id, CancellationToken.None));
    }

    [Fact]
    public async Task OnlyText_IsStreamed()
    {
        var job = Job(modelCalls: 1);
        await using (var attempt = await Writer().BeginAsync(job, CancellationToken.None))
        {
            await attempt.AppendAsync(new ChatDelta(Model: "gpt-4.1-mini"), CancellationToken.None);
            await attempt.AppendAsync(new ChatDelta(""), CancellationToken.None);
            await attempt.AppendAsync(new ChatDelta(FinishReason: "stop", Usage: new TokenUsage(1, 0, 1)), CancellationToken.None);
        }

        Assert.Empty(await RowsAsync(job));
        Assert.Equal((0L, false), await log.TailAsync(job.Id, CancellationToken.None));
    }

    [Fact]
    public async Task TheSweep_RemovesRowsWrittenBeforeTheCutoff_AndNoOthers()
    {
        var job = Job(modelCalls: 1);
        await using (var attempt = await Writer().BeginAsync(job, CancellationToken.None))
        {
            await Send(attempt, "kept");
        }

        Assert.Equal(0, await log.RemoveWrittenBeforeAsync(DateTimeOffset.UtcNow.AddMinutes(-5), CancellationToken.None));
        Assert.Single(await RowsAsync(job));
        Assert.Equal(1, await log.RemoveWrittenBeforeAsync(DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None));
        Assert.Empty(await RowsAsync(job));
    }
}
