using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>
/// The interactive door in a real browser: the official <c>openai</c> package, loaded by the page's import map, streams
/// through POST /api/v1/chat/completions from the offline model, which writes a word every 40 ms.
/// </summary>
[Collection(SpaCollection.Name)]
public sealed class SpaStreamingTests(SpaFixture spa)
{
    [Fact]
    public async Task StreamedAnswer_AppearsTokenByToken_ThenShowsItsTokensAndCost()
    {
        await using var page = await spa.OpenAsync("spa-stream");
        await page.RecordAnswerStatesAsync();

        await page.Message.FillAsync("Tell me something");
        await page.Send.ClickAsync();
        // Mid-stream: some text is there, and the page still says it is streaming.
        await Expect(page.LastAnswer.Locator(".text")).ToContainTextAsync("[offline model]");
        await page.ScreenshotAsync("streaming-in-progress");
        await Expect(page.LastAnswer.Locator(".status")).ToHaveTextAsync("Streamed");

        var answer = page.LastAnswer;
        var final = await answer.Locator(".text").TextContentAsync() ?? "";
        Assert.Contains("You said: \"Tell me something\"", final);
        var states = await page.RecordedAnswerStatesAsync("text");
        Assert.True(states.Length >= 5, $"The text should have grown in several steps, not {states.Length}: {string.Join(" | ", states)}");
        Assert.All(states, state => Assert.StartsWith(state, final));
        Assert.Equal(final, states[^1]);
        await Expect(answer.Locator(".meta")).ToContainTextAsync("gpt-4.1-mini");
        await Expect(answer.Locator(".meta")).ToContainTextAsync(new Regex(@"\d+ in / \d+ out tokens"));
        await Expect(answer.Locator(".meta")).ToContainTextAsync(new Regex(@"cost \$0\.0000\d+"));
        await page.ScreenshotAsync("streamed-answer");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task SameQuestionAgain_StreamsFromTheCache_AndIsLabelled()
    {
        await using var page = await spa.OpenAsync("spa-stream-cache");
        var first = await page.AskAsync("What does it cost?");
        await Expect(first.Locator(".status")).ToHaveTextAsync("Streamed");

        await page.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        var second = await page.AskAsync("What does it cost?");

        await Expect(second.Locator(".status")).ToHaveTextAsync("Streamed from the cache");
        await Expect(second.Locator(".badge.cache")).ToHaveTextAsync("From cache");
        await Expect(second.Locator(".meta")).ToContainTextAsync(new Regex(@"cost \$0\.00 \(saved \$0\.0000\d+\)"));
        await Expect(second.Locator(".text")).ToHaveTextAsync(await first.Locator(".text").TextContentAsync() ?? "");
        await page.ScreenshotAsync("stream-cache-hit");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task DroppedStream_KeepsWhatArrived_SaysItWasCutOff_AndThePageGoesOn()
    {
        await using var page = await spa.OpenAsync("spa-stream-cut");
        // The connection drops after the first few events: the body ends with no finish and no [DONE].
        await page.Page.RouteAsync("**/api/v1/chat/completions", async route =>
        {
            var response = await route.FetchAsync();
            var events = (await response.TextAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = string.Join("\n\n", events.Take(4)) + "\n\n" });
        }, new PageRouteOptions { Times = 1 });

        var cut = await page.AskAsync("Tell me a long story");

        await Expect(cut.Locator(".status")).ToHaveTextAsync("Cut off: the answer is incomplete");
        await Expect(cut.Locator(".text")).ToContainTextAsync("[offline");
        await Expect(page.Notice).ToContainTextAsync("The answer was cut off");
        await page.ScreenshotAsync("stream-cut-off");

        // The backend had the whole answer (only the browser's copy was cut), so asking again costs nothing.
        var next = await page.AskAsync("Tell me a long story");
        await Expect(next.Locator(".status")).ToHaveTextAsync("Streamed from the cache");
        await Expect(page.Notice).ToBeHiddenAsync();
        page.AssertNoConsoleErrors();
    }

    /// <summary>Also the README's picture of the demo.</summary>
    [Fact]
    public async Task OneSavedConversation_OnBothDoors_SaysWhichModelAndRouteServedEachAnswer_AndTheBudgetLeftGoesDown()
    {
        await using var page = await spa.OpenAsync("spa-tour", SpaPage.BackgroundJob, width: 1100, height: 900);
        await Expect(page.Budget).ToBeHiddenAsync(); // nothing is known before the first answer
        await page.StartConversationAsync();

        // A job's budget figure is taken once it is settled; a stream's as it starts, with its own worst case held.
        var queued = await page.AskAsync("What can this backend do?");
        await Expect(queued.Locator(".status")).ToHaveTextAsync(new Regex("^Queued.* → Succeeded$"));
        await Expect(queued.Locator(".meta")).ToContainTextAsync("model gpt-4.1-mini");
        await Expect(queued.Locator(".meta")).ToContainTextAsync($"route {SpaFixture.DefaultRoute}");
        var budgetLine = new Regex(@"^Budget: \$0\.00\d+ of \$0\.005 left today \(resets \d\d:\d\d\)$");
        await Expect(page.Budget).ToHaveTextAsync(budgetLine);
        var afterJob = Remaining(await page.Budget.TextContentAsync());

        await page.Page.GetByLabel(SpaPage.Streamed).CheckAsync();
        var streamed = await page.AskAsync("And as a streamed answer?");
        await Expect(streamed.Locator(".status")).ToHaveTextAsync("Streamed");
        await Expect(streamed.Locator(".meta")).ToContainTextAsync("model gpt-4.1-mini");
        await Expect(streamed.Locator(".meta")).ToContainTextAsync($"route {SpaFixture.DefaultRoute}");
        await Expect(page.Budget).ToHaveTextAsync(budgetLine);
        var afterStream = Remaining(await page.Budget.TextContentAsync());

        Assert.True(afterJob < 0.005m, $"{afterJob} should be less than the whole day's $0.005");
        Assert.True(afterStream < afterJob, $"{afterStream} should be less than {afterJob}");
        await Expect(page.Page.Locator("#total-answers")).ToHaveTextAsync("2");
        var first = Assert.Single(await queued.Locator(".meta").AllTextContentsAsync());
        var second = Assert.Single(await streamed.Locator(".meta").AllTextContentsAsync());
        // The backend sent the second turn with the first as history, so it read more input tokens.
        Assert.True(InputTokens(second) > InputTokens(first), $"{second} should count more input than {first}");
        await Expect(page.SavedConversations).ToContainTextAsync("What can this backend do?");
        await page.Page.ScreenshotAsync(new() { Path = Path.Combine(Infrastructure.BrowserFixture.ScreenshotFolder, "readme-demo.png") });
        page.AssertNoConsoleErrors();
    }

    private static decimal Remaining(string? budget) =>
        decimal.Parse(Regex.Match(budget ?? "", @"\$([\d.]+) of").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static int InputTokens(string meta) => int.Parse(Regex.Match(meta, @"(\d+) in /").Groups[1].Value);

    [Fact]
    public async Task FromAnotherOrigin_AsDeployed_BothDoorsWorkThroughCors_AndSeeTheExposedHeaders()
    {
        await using var page = await spa.OpenAsync("spa-cors", crossOrigin: true);
        Assert.NotEqual(spa.StaticSiteOrigin.Port, spa.Host.Client.BaseAddress!.Port);

        // The SDK's preflight carries Authorization, Content-Type, the caller and its x-stainless-* headers.
        var streamed = await page.AskAsync("Across origins?");
        await Expect(streamed.Locator(".status")).ToHaveTextAsync("Streamed");
        await Expect(streamed.Locator(".meta")).ToContainTextAsync(new Regex(@"cost \$0\.0000\d+"));

        // The background door reads Retry-After and Cache-Status, which CORS hides unless exposed.
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        await page.Page.GetByLabel(SpaPage.BackgroundJob).CheckAsync();
        var fromCache = await page.AskAsync("Across origins?");
        await Expect(fromCache.Locator(".badge.cache")).ToHaveTextAsync("From cache");
        // x-model, x-route and x-budget-* are read across origins too.
        await Expect(fromCache.Locator(".meta")).ToContainTextAsync($"route {SpaFixture.DefaultRoute}");
        await Expect(page.Budget).ToContainTextAsync("of $0.005 left today");

        // A new question is a job: its stream is an EventSource on the API's origin, which CORS must allow too.
        var streams = page.RecordJobStreamOpenings();
        var job = await page.AskAsync("A job across origins?");
        await Expect(job.Locator(".text")).ToContainTextAsync("A job across origins?");
        await Expect(job.Locator(".status")).ToHaveTextAsync(new Regex("→ Succeeded$"));
        lock (streams)
        {
            Assert.Equal([spa.Host.Client.BaseAddress!.GetLeftPart(UriPartial.Authority)],
                streams.Select(request => new Uri(request.Url).GetLeftPart(UriPartial.Authority)));
        }
        await page.ScreenshotAsync("cross-origin");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task OpenAIPackageMissing_StreamedChatSaysWhy_AndBackgroundJobsStillWork()
    {
        await using var page = await spa.OpenAsync("spa-no-sdk");
        await page.Page.RouteAsync("**/vendor/openai/**", route => route.FulfillAsync(new RouteFulfillOptions { Status = 404 }));

        await page.AskAsync("Stream, please");
        await Expect(page.Notice).ToContainTextAsync("The openai package did not load");

        await page.Page.GetByLabel(SpaPage.BackgroundJob).CheckAsync();
        var answer = await page.AskAsync("Then in the background");
        await Expect(answer.Locator(".text")).ToContainTextAsync("Then in the background");
        page.AssertNoConsoleErrors([404]);
    }
}
