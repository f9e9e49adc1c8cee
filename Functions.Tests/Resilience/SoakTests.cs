using System.Text.Json;
using Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Functions.Tests.Resilience;

/// <summary>
/// 300 jobs through 4 concurrent workers (hosts sharing one queue, job table and gate) while about 30% of model calls
/// fail transiently: every job must end, none twice, within the call budget.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SoakTests(AzuriteFixture azurite, ITestOutputHelper output) : HostedTest(azurite)
{
    private const int Jobs = 300;
    private const int Workers = 4;
    private const int MaxRetries = 6;

    [Fact]
    public async Task ThreeHundredJobs_FourWorkers_ThirtyPercentFaults_AllEndOnce_WithinTheCallBudget()
    {
        var random = new Random(20261123);
        var faults = new Func<FakeReply>[]
        {
            () => FakeReply.RateLimited(TimeSpan.FromMilliseconds(50 + random.Next(100))),
            () => FakeReply.Error(500, "server_error", "server_error"),
            () => FakeReply.Error(502, "bad_gateway", "server_error"),
            () => FakeReply.Error(503, "overloaded", "server_error"),
            () => FakeReply.ResetConnection(),
            () => FakeReply.CutShort(),
            () => FakeReply.Malformed(),
            () => FakeReply.Error(504, "timeout", "server_error") with { Delay = TimeSpan.FromSeconds(1.2) }, // beyond the 1 s network timeout
        };
        Model.Responder = request =>
        {
            lock (random)
            {
                return random.NextDouble() < 0.30
                    ? faults[random.Next(faults.Length)]()
                    : FakeReply.Completion("answer to " + request.GetProperty("messages")[0].GetProperty("content").GetString());
            }
        };

        var shared = new Dictionary<string, string?>
        {
            ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("soak"),
            ["Storage:JobsTable"] = AzuriteFixture.UniqueName("soakjobs"),
            ["Storage:GateTable"] = AzuriteFixture.UniqueName("soakgate"),
            ["OpenAI:NetworkTimeout"] = "00:00:01",
            ["Resilience:MaxRetries"] = $"{MaxRetries}",
            ["Resilience:BaseBackoff"] = "00:00:00.020",
            ["Resilience:MaxBackoff"] = "00:00:00.200",
            ["Resilience:CircuitFailureThreshold"] = "8",
            ["Resilience:CircuitBreakDuration"] = "00:00:00.300",
        };
        var hosts = new List<TestHost>();
        for (var i = 0; i < Workers; i++)
        {
            hosts.Add(await StartHostAsync(shared));
        }

        var ids = new string[Jobs];
        await Parallel.ForAsync(0, Jobs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            ids[i] = await hosts[i % Workers].SubmitAcceptedAsync(TestHost.UserMessage($"soak job {i}")));

        var deadline = TimeSpan.FromSeconds(50);
        var jobs = await Task.WhenAll(ids.Select((id, i) => hosts[i % Workers].WaitForTerminalAsync(id, timeout: deadline)));

        var calls = Model.Calls.ToList();
        var succeeded = jobs.Count(j => j.GetProperty("status").GetString() == "Succeeded");
        var failed = jobs.Count(j => j.GetProperty("status").GetString() == "Failed");
        var successesPerJob = calls.Where(c => c.Reply.IsSuccess).GroupBy(c => c.Body.GetProperty("messages")[0].GetProperty("content").GetString())
            .ToDictionary(g => g.Key!, g => g.Count());
        var slowest = jobs.Max(j => j.GetProperty("completedAt").GetDateTimeOffset() - j.GetProperty("createdAt").GetDateTimeOffset());
        output.WriteLine($"jobs {Jobs}, workers {Workers}: {succeeded} succeeded, {failed} failed; upstream calls {calls.Count} " +
            $"(budget {Jobs * (1 + MaxRetries)}), faults injected {calls.Count(c => !c.Reply.IsSuccess)}, retries {calls.Count - Jobs}, " +
            $"slowest job {slowest.TotalMilliseconds:F0} ms");
        foreach (var failure in jobs.Where(j => j.GetProperty("status").GetString() == "Failed"))
        {
            output.WriteLine($"failed {failure.GetProperty("id")}: {failure.GetProperty("error")}");
        }

        Assert.Equal(Jobs, succeeded + failed); // every job Succeeded or Failed, each counted by its own status
        Assert.All(jobs.Where(j => j.GetProperty("status").GetString() == "Failed"),
            j => Assert.Contains("Gave up after", j.GetProperty("error").GetProperty("message").GetString()));
        Assert.All(successesPerJob.Values, count => Assert.Equal(1, count)); // no answer fetched or recorded twice
        Assert.Equal(succeeded, successesPerJob.Count);
        Assert.True(calls.Count <= Jobs * (1 + MaxRetries), $"{calls.Count} upstream calls");
        Assert.All(jobs.Where(j => j.GetProperty("status").GetString() == "Succeeded"), j =>
            Assert.Equal(11, j.GetProperty("result").GetProperty("usage").GetProperty("inputTokens").GetInt32()));
    }
}
