using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>The background-job door in a real browser: POST /api/chat, then the job's status URL.</summary>
[Collection(SpaCollection.Name)]
public sealed partial class SpaBackgroundJobTests(SpaFixture spa)
{
    /// <summary>Whether a poll catches the job Running depends on timing; the start and the end do not.</summary>
    [GeneratedRegex("^Queued( → Running)? → Succeeded$")]
    private static partial Regex QueuedThenSucceeded();

    [GeneratedRegex(@"^id: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex DeltaIds();

    [Fact]
    public async Task BackgroundJob_ShowsItsStatusChanges_TheAnswer_AndWhatItCost()
    {
        await using var page = await spa.OpenAsync("spa-job", SpaPage.BackgroundJob);

        var answer = await page.AskAsync("Say hello");

        await Expect(answer.Locator(".status")).ToHaveTextAsync(QueuedThenSucceeded());
        await Expect(answer.Locator(".text")).ToContainTextAsync("You said: \"Say hello\"");
        await Expect(answer.Locator(".meta")).ToContainTextAsync("gpt-4.1-mini");
        await Expect(answer.Locator(".meta")).ToContainTextAsync(new Regex(@"\d+ in / \d+ out tokens"));
        await Expect(answer.Locator(".meta")).ToContainTextAsync(new Regex(@"cost \$0\.0000\d+"));
        await Expect(answer.Locator(".badge.cache")).ToHaveCountAsync(0);
        await Expect(page.Page.Locator("#total-answers")).ToHaveTextAsync("1");
        await page.ScreenshotAsync("background-job-answered");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task SameQuestionAgain_IsAnsweredFromTheCache_AndLabelled()
    {
        await using var page = await spa.OpenAsync("spa-cache", SpaPage.BackgroundJob);
        var first = await page.AskAsync("Opening hours?");
        await Expect(first.Locator(".text")).ToContainTextAsync("Opening hours?");

        await page.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        var second = await page.AskAsync("Opening hours?");

        await Expect(second.Locator(".badge.cache")).ToHaveTextAsync("From cache");
        await Expect(second.Locator(".meta")).ToContainTextAsync(new Regex(@"cost \$0\.00 \(saved \$0\.0000\d+\)"));
        await Expect(second.Locator(".text")).ToHaveTextAsync(await first.Locator(".text").TextContentAsync() ?? "");
        await Expect(page.Page.Locator("#total-hits")).ToHaveTextAsync("1");
        await page.ScreenshotAsync("cache-hit-labelled");
        page.AssertNoConsoleErrors();
    }

    /// <summary>The offline model repeats up to 200 characters of the question: some 50 words, 2 s of streaming.</summary>
    private const string LongQuestion =
        "Please explain, step by step and in plain words, how a background job travels from the queue to the model and " +
        "back, what the stream shows while it runs, and what happens when the connection drops";

    [Fact]
    public async Task BackgroundJob_ShowsItsTextLive_FromTheJobStream()
    {
        await using var page = await spa.OpenAsync("spa-job-live", SpaPage.BackgroundJob);
        var streams = page.RecordJobStreamOpenings();
        await page.RecordAnswerStatesAsync();

        var answer = await page.AskAsync(LongQuestion);

        await Expect(answer.Locator(".status")).ToHaveTextAsync(QueuedThenSucceeded());
        var final = await answer.Locator(".text").TextContentAsync() ?? "";
        Assert.Contains("You said: \"Please explain", final);
        // Polling would show the whole answer at once; the stream shows it growing, word by word.
        var states = await page.RecordedAnswerStatesAsync("text");
        Assert.True(states.Length >= 5, $"The text should have grown in several steps, not {states.Length}: {string.Join(" | ", states)}");
        Assert.All(states, state => Assert.StartsWith(state, final));
        Assert.Single(streams);
        await page.ScreenshotAsync("background-job-streamed");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task StreamCutAfterThreeDeltas_TheBrowserReconnects_AndResumesWithNoGapAndNoRepeat()
    {
        await using var page = await spa.OpenAsync("spa-job-cut", SpaPage.BackgroundJob);
        var streams = page.RecordJobStreamOpenings();
        // The first connection is the server's real stream, cut after its third delta (as a proxy or a dropped network
        // ends it); the browser's own reconnect, with Last-Event-ID, goes through untouched.
        var cut = 0;
        await page.Page.RouteAsync("**/api/chat/*/stream?**", async route =>
        {
            if (Interlocked.Increment(ref cut) > 1)
            {
                await route.ContinueAsync();
                return;
            }
            var response = await route.FetchAsync();
            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = UpToThirdDelta(await response.TextAsync()) });
        });
        await page.RecordAnswerStatesAsync();

        var answer = await page.AskAsync(LongQuestion);

        await Expect(answer.Locator(".status")).ToHaveTextAsync(QueuedThenSucceeded());
        var final = await answer.Locator(".text").TextContentAsync() ?? "";
        Assert.Contains("what happens when the connection drops", final);
        // A repeated or a missing delta would have shown a text that is not the start of the answer.
        var states = await page.RecordedAnswerStatesAsync("text");
        Assert.All(states, state => Assert.StartsWith(state, final));
        Assert.True(states.Length >= 2, "The three deltas before the cut should have been shown before the rest.");
        IRequest[] opened;
        lock (streams) { opened = [.. streams]; }
        Assert.Equal(2, opened.Length);
        // The browser sent Last-Event-ID: 3 (below the layer Playwright reports headers at); the server resumed after it.
        var resumed = await (await opened[1].ResponseAsync())!.TextAsync();
        Assert.Equal("4", DeltaIds().Match(resumed).Groups[1].Value);
        await page.ScreenshotAsync("background-job-stream-resumed");
        page.AssertNoConsoleErrors();
    }

    /// <summary>A job stream's text up to and including its third <c>delta</c> event, as if the connection ended there.</summary>
    private static string UpToThirdDelta(string events)
    {
        var kept = new List<string>();
        var deltas = 0;
        foreach (var block in events.Split("\n\n"))
        {
            kept.Add(block);
            if (block.Contains("event: delta", StringComparison.Ordinal) && ++deltas == 3)
            {
                return string.Join("\n\n", kept) + "\n\n";
            }
        }
        throw new InvalidOperationException("The stream had fewer than three deltas: " + events);
    }

    [Fact]
    public async Task StreamRefused_FallsBackToTheStatusUrl_AndSurvivesADroppedPoll()
    {
        await using var page = await spa.OpenAsync("spa-job-refused", SpaPage.BackgroundJob);
        // As an expired stream token is answered: 401 problem+json, which closes an EventSource for good.
        await page.Page.RouteAsync("**/api/chat/*/stream?**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 401,
            ContentType = "application/problem+json",
            Body = """{"title":"The stream URL's token is invalid or expired.","status":401,"code":"stream_token_invalid"}""",
        }));
        var cut = 0;
        await page.Page.RouteAsync("**/api/chat/*", async route =>
        {
            if (Interlocked.Increment(ref cut) == 1)
            {
                await route.AbortAsync("connectionreset");
                return;
            }
            await route.ContinueAsync();
        });
        await page.RecordAnswerStatesAsync();

        var answer = await page.AskAsync("Still there?");

        await Expect(answer.Locator(".text")).ToContainTextAsync("Still there?");
        await Expect(answer.Locator(".status")).ToHaveTextAsync(QueuedThenSucceeded());
        Assert.Contains(await page.RecordedAnswerStatesAsync("status"),
            status => status == "Queued · connection lost, reconnecting (attempt 1)…");
        Assert.True(cut >= 2, "The page should have followed the job again after the cut.");
        await page.ScreenshotAsync("reconnected-after-drop");
        page.AssertNoConsoleErrors([401], connectionCut: true);
    }
}
