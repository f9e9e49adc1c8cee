using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Cache;

/// <summary>Concurrent identical requests through HTTP, the queue and Azurite: one model call between them.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SingleFlightHttpTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private FakeOpenAIServer model = null!;
    private TestHost host = null!;

    public async Task InitializeAsync()
    {
        model = await FakeOpenAIServer.StartAsync();
        host = await TestHost.StartAsync(azurite, model.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await model.DisposeAsync();
    }

    /// <summary>Submits <paramref name="count"/> identical requests at once; returns every job as it ended (a hit is already ended).</summary>
    private async Task<JsonElement[]> SubmitConcurrentlyAsync(int count, string prompt) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            using var response = await ResponseCacheHttpTests.SubmitAsync(host, ResponseCacheHttpTests.Deterministic(prompt));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return response.StatusCode == HttpStatusCode.OK
                ? body
                : await host.WaitForTerminalAsync(body.GetProperty("id").GetString()!, "alice", TimeSpan.FromSeconds(60));
        }));

    [Fact]
    public async Task TwentyConcurrentIdenticalMisses_MakeOneModelCall_AndAllSucceedWithItsAnswer()
    {
        // Each call would answer differently, and slowly enough for all twenty to overlap it.
        model.Enqueue(Enumerable.Range(0, 20).Select(i => FakeReply.Completion($"answer {i}") with { Delay = TimeSpan.FromMilliseconds(500) })
            .ToArray());

        var jobs = await SubmitConcurrentlyAsync(20, "FAQ: what are your opening hours?");

        Assert.Single(model.Calls);
        Assert.All(jobs, job => Assert.Equal("Succeeded", job.GetProperty("status").GetString()));
        Assert.All(jobs, job => Assert.Equal("answer 0", job.GetProperty("result").GetProperty("content").GetString()));
        Assert.Equal(20, jobs.Select(job => job.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task LeaderFails_FollowersFallBackToTheirOwnCall_AndNoneIsLeftWaiting()
    {
        model.Enqueue(FakeReply.Error(400, "invalid_request_error") with { Delay = TimeSpan.FromMilliseconds(500) });
        model.Enqueue(Enumerable.Range(1, 5).Select(i => FakeReply.Completion($"answer {i}") with { Delay = TimeSpan.FromMilliseconds(300) })
            .ToArray());

        var jobs = await SubmitConcurrentlyAsync(5, "Summarise our refund policy.");

        Assert.Equal(2, model.Calls.Count);
        Assert.Single(jobs, job => job.GetProperty("status").GetString() == "Failed");
        var succeeded = jobs.Where(job => job.GetProperty("status").GetString() == "Succeeded").ToList();
        Assert.Equal(4, succeeded.Count);
        Assert.All(succeeded, job => Assert.Equal("answer 1", job.GetProperty("result").GetProperty("content").GetString()));
    }
}
