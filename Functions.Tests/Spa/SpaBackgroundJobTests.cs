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

    [Fact]
    public async Task ConnectionDroppedWhileFollowingTheJob_Reconnects_AndShowsTheAnswer()
    {
        await using var page = await spa.OpenAsync("spa-dropped", SpaPage.BackgroundJob);
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
        page.AssertNoConsoleErrors(connectionCut: true);
    }
}
