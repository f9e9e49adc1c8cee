using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Functions.Tests.RateLimits;

/// <summary>Upstream pacing against Azurite with a clock the test moves; two providers on one table are two instances.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class UpstreamPacerTests(AzuriteFixture azurite)
{
    private const string Model = "gpt-4.1-mini";
    private readonly FakeTimeProvider clock = CoreServices.Clock("2026-03-10T12:00:00Z");

    private Task<ServiceProvider> StartAsync(string table, int? rpm, int? tpm, params (string Key, string? Value)[] more) =>
        CoreServices.StartAsync(azurite, clock, new Dictionary<string, string?>
        {
            ["RateLimits:Table"] = table,
            ["OpenAI:Models:0:Name"] = Model,
            ["OpenAI:Models:0:RequestsPerMinute"] = rpm?.ToString(),
            ["OpenAI:Models:0:TokensPerMinute"] = tpm?.ToString(),
        }.Concat(more.Select(setting => KeyValuePair.Create(setting.Key, setting.Value))).ToDictionary());

    private static ChatRequest Request(int maxTokens = 10, string model = Model) =>
        new([new ChatMessage(ChatRoles.User, "hi")], model, null, maxTokens);

    [Fact]
    public async Task TwoInstances_OverTwoMinutes_NeverExceedTheBucket_AndUseNearlyAllOfIt()
    {
        var table = AzuriteFixture.UniqueName("rates");
        await using var first = await StartAsync(table, rpm: 600, tpm: null);
        await using var second = await StartAsync(table, rpm: 600, tpm: null);
        var pacers = new[] { first.GetRequiredService<UpstreamPacer>(), second.GetRequiredService<UpstreamPacer>() };

        var calls = new List<DateTimeOffset>();
        var end = clock.GetUtcNow() + TimeSpan.FromMinutes(2);
        while (clock.GetUtcNow() < end)
        {
            foreach (var pacer in pacers)
            {
                for (var i = 0; i < 20 && await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None) is null; i++)
                {
                    calls.Add(clock.GetUtcNow());
                }
            }
            clock.Advance(TimeSpan.FromMilliseconds(250));
        }

        // The limit is a bucket of 600 refilled at 10 a second: by any instant t, at most 600 + 10 t calls.
        var start = calls[0];
        var over = calls.Select((at, i) => (Calls: i + 1, Allowed: 600 + 10 * (at - start).TotalSeconds)).Where(c => c.Calls > c.Allowed).ToList();
        Assert.True(over.Count == 0, $"{over.Count} calls beyond the bucket, first at {over.FirstOrDefault()}");
        // 1,800 in two minutes at most; the leases' edges lose a little.
        Assert.InRange(calls.Count, 1_700, 1_800);
    }

    [Fact]
    public async Task Tokens_AreTakenAtTheWorstCase_AndWhatACallDidNotUseComesBack()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: null, tpm: 1_000);
        var pacer = services.GetRequiredService<UpstreamPacer>();
        var big = Request(maxTokens: 450); // about 460 tokens at worst

        var first = await pacer.TakeAsync(big, TimeSpan.Zero, CancellationToken.None);
        var second = await pacer.TakeAsync(big, TimeSpan.Zero, CancellationToken.None);
        var third = await pacer.TakeAsync(big, TimeSpan.Zero, CancellationToken.None);
        pacer.Settle(big, 60);
        pacer.Settle(big, 60);
        var afterSettle = await pacer.TakeAsync(big, TimeSpan.Zero, CancellationToken.None);

        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal(RateLimitNames.Tokens, third!.Limit);
        Assert.Null(afterSettle);
    }

    [Fact]
    public async Task AWaitWithinTheDoorsBound_HoldsTheSlotForThatRequest_ALongerOneHoldsNothing()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: 60, tpm: null);
        var pacer = services.GetRequiredService<UpstreamPacer>();
        for (var i = 0; i < 60; i++)
        {
            Assert.Null(await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None));
        }

        var waiting = Request();
        var held = await pacer.TakeAsync(waiting, TimeSpan.FromSeconds(2), CancellationToken.None);
        var next = await pacer.TakeAsync(Request(), TimeSpan.FromSeconds(0.5), CancellationToken.None);
        clock.Advance(held!.Wait);
        var afterTheWait = await pacer.TakeAsync(waiting, TimeSpan.FromSeconds(2), CancellationToken.None);
        var other = await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(1), held.Wait);
        Assert.True(next!.Wait > TimeSpan.FromSeconds(1.5), $"{next.Wait}: the held slot is not given away");
        Assert.Null(afterTheWait); // its own slot, no second one
        Assert.NotNull(other);
    }

    [Fact]
    public async Task TheProvidersRemainingHeaders_TightenTheLocalView()
    {
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: 600, tpm: null);
        var pacer = services.GetRequiredService<UpstreamPacer>();
        Assert.Null(await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None));

        // Another client of the same deployment used it up: the provider says nothing is left.
        pacer.Observe(Model, new ProviderLimits(600, 0, null, null));
        var wait = await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None);

        Assert.NotNull(wait);
        Assert.Equal(RateLimitNames.Requests, wait.Limit);
    }

    [Fact]
    public async Task AtTheLimit_AnswersSayingNothingIsLeft_DoNotCostTheLeasesLaterSlots()
    {
        // At the limit every answer says "0 left" (the provider's bucket is empty the moment a call lands). That is a
        // word about now; the lease's later slots are the refill, and pacing must keep using them: 10 calls a second.
        await using var services = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: 600, tpm: null);
        var pacer = services.GetRequiredService<UpstreamPacer>();
        for (var i = 0; i < 600; i++)
        {
            Assert.Null(await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None)); // the full bucket, at once
        }

        var calls = 0;
        for (var step = 0; step < 100; step++) // ten seconds, 100 ms a step: one slot frees a step
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            if (await pacer.TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None) is null)
            {
                calls++;
                pacer.Observe(Model, new ProviderLimits(600, 0, null, null)); // the answer: nothing left now
            }
        }

        Assert.InRange(calls, 90, 101); // the refill is 100 slots; never more than it, and nearly all of it
    }

    [Fact]
    public async Task UnlistedModels_AndPacingOff_NeverWait()
    {
        await using var on = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: 1, tpm: null);
        await using var off = await StartAsync(AzuriteFixture.UniqueName("rates"), rpm: 1, tpm: null, ("RateLimits:Pacing", "false"));

        for (var i = 0; i < 3; i++)
        {
            Assert.Null(await on.GetRequiredService<UpstreamPacer>().TakeAsync(Request(model: "other"), TimeSpan.Zero, CancellationToken.None));
            Assert.Null(await off.GetRequiredService<UpstreamPacer>().TakeAsync(Request(), TimeSpan.Zero, CancellationToken.None));
        }
    }
}
