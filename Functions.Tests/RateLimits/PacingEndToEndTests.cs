using Functions.Core.Completions;
using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Microsoft.Extensions.Options;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Functions.Tests.RateLimits;

/// <summary>
/// The small version of the pacing soak (the full one is benchmarks/RateLimits.Benchmarks): two worker hosts sharing one
/// queue and one upstream counter, against a fake deployment that enforces its RPM with real 429s. Jobs that find no
/// slot go back to the queue (Queued with retryAt) until one frees, instead of calling and collecting a 429.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PacingEndToEndTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Rpm = 60;
    private const int Jobs = 4;

    [Fact]
    public async Task JobsFindingTheLimitUsedUp_WaitOnTheQueueForSlots_AndTheProviderNeverAnswers429()
    {
        await using var model = await FakeOpenAIServer.StartAsync();
        model.EnforceLimits(Rpm, 1_000_000);
        model.Responder = request => FakeReply.Completion("paced", ChatCompletionJson.PromptTokens(request), 5,
            model: ChatCompletionJson.Model(request));
        var shared = new Dictionary<string, string?>
        {
            ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("paced"),
            ["Storage:JobsTable"] = AzuriteFixture.UniqueName("pacedjobs"),
            ["Storage:GateTable"] = AzuriteFixture.UniqueName("pacedgate"),
            ["RateLimits:Table"] = AzuriteFixture.UniqueName("pacedrates"),
            ["OpenAI:Models:0:Name"] = "gpt-4.1-mini",
            ["OpenAI:Models:0:RequestsPerMinute"] = $"{Rpm}",
            ["Resilience:LongWaitThreshold"] = "00:00:00.200", // a wait for a slot (a second apart at 60 RPM) goes back to the queue
        };
        await using var first = await TestHost.StartAsync(azurite, model.BaseUrl, shared);
        await using var second = await TestHost.StartAsync(azurite, model.BaseUrl, shared);

        // Other instances have spent the whole minute's bucket and two seconds more: the first slot frees in 3 s, then one a
        // second. (The tokenizer loads first: it takes a moment on a busy machine.)
        _ = second.Service<WorstCaseTokens>().For(new ChatRequest([new ChatMessage(ChatRoles.User, "warm up")], "gpt-4.1-mini", null, 1));
        var pacingKey = first.Service<IOptions<OpenAIOptions>>().Value.Model("gpt-4.1-mini")!.PacingKey(model.BaseUrl);
        var partition = RateLimitStore.ModelPartition(pacingKey);
        var spentAt = DateTimeOffset.UtcNow;
        await first.Service<RateLimitStore>().WriteAsync(new CounterRow(partition, "spent", spentAt.AddSeconds(62).UtcTicks, 0, 0, ""),
            CancellationToken.None);
        var ids = new List<string>();
        for (var i = 0; i < Jobs; i++)
        {
            ids.Add(await second.SubmitAcceptedAsync(TestHost.UserMessage($"paced job {i}")));
        }
        var sawRetryAt = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (var finished = false; !sawRetryAt && !finished && DateTime.UtcNow < deadline;)
        {
            finished = true;
            foreach (var id in ids)
            {
                var job = await second.GetJobAsync(id);
                var status = job.GetProperty("status").GetString();
                sawRetryAt |= status == "Queued" && job.TryGetProperty("retryAt", out _);
                finished &= status is "Succeeded" or "Failed";
            }
        }
        var jobs = await Task.WhenAll(ids.Select(id => second.WaitForTerminalAsync(id, timeout: TimeSpan.FromSeconds(30))));

        var calls = model.Calls.OrderBy(call => call.At).ToList();
        output.WriteLine($"{Jobs} jobs, {calls.Count} upstream calls at " +
                         string.Join(", ", calls.Select(call => $"+{(call.At - spentAt).TotalSeconds:F2} s")) + " after the counter was spent" +
                         $"; {model.Limits!.Refused} answered 429");
        Assert.All(jobs, job => Assert.Equal("Succeeded", job.GetProperty("status").GetString()));
        Assert.True(sawRetryAt, "no job waiting for a slot showed Queued with retryAt");
        Assert.Equal(0, model.Limits.Refused);
        Assert.Equal(Jobs, calls.Count);
        // No call before its slot: the k-th frees 2 + k seconds after the counter was spent (a late one may bunch with the next).
        Assert.All(calls.Select((call, k) => (call.At, Slot: spentAt.AddSeconds(3 + k))), call =>
            Assert.True(call.At >= call.Slot.AddMilliseconds(-20), $"a call at {call.At:HH:mm:ss.fff} before its slot at {call.Slot:HH:mm:ss.fff}"));
    }
}
