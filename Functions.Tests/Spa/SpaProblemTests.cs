using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>Every problem either door answers is explained in words, hostile output stays text, and the page stays usable.</summary>
[Collection(SpaCollection.Name)]
public sealed class SpaProblemTests(SpaFixture spa)
{
    public static TheoryData<string> Doors => new() { SpaPage.Streamed, SpaPage.BackgroundJob };

    /// <summary>A caller of its own per test and door, so budgets and caches never cross.</summary>
    private static string Caller(string test, string door) => $"spa-{test}-{(door == SpaPage.Streamed ? "stream" : "job")}";

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task BudgetRefusal_SaysSo_WhenItResets_AndCountsDownTheWait(string door)
    {
        await using var page = await spa.OpenAsync(Caller("budget", door), door);
        // 4,096 output tokens of gpt-4.1-mini could cost $0.0066: more than the caller's daily $0.005.
        await page.Page.GetByLabel("Max tokens per answer").FillAsync("4096");

        var answer = await page.AskAsync("Write me a long essay");

        await Expect(page.Notice).ToContainTextAsync("Budget reached");
        await Expect(page.Notice).ToContainTextAsync(door == SpaPage.BackgroundJob ? "daily budget for your account" : "perCallerDaily budget");
        await Expect(page.Notice).ToContainTextAsync("resets at");
        await Expect(page.Notice.Locator(".notice-wait")).ToContainTextAsync(new Regex(@"try again in \d+ (h|min|s)"));
        await Expect(answer).ToHaveClassAsync(new Regex("failed"));
        await Expect(page.Message).ToHaveValueAsync("Write me a long essay");
        await Expect(page.Budget).ToHaveTextAsync(new Regex(@"^Budget: \$0\.005 of \$0\.005 left today")); // the refusal's x-budget-*
        await page.ScreenshotAsync($"budget-refused-{Caller("budget", door)}");

        // A smaller answer fits the same budget.
        await page.Page.GetByLabel("Max tokens per answer").FillAsync("100");
        var fits = await page.AskAsync("Write me a short one");
        await Expect(fits.Locator(".text")).ToContainTextAsync("Write me a short one");
        await Expect(page.Notice).ToBeHiddenAsync();
        page.AssertNoConsoleErrors([429]);
    }

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task RateLimitRefusal_SaysWhichLimit_ShowsWhatIsLeft_AndCountsDownTheWait(string door)
    {
        await using var page = await spa.OpenAsync(Caller("rate", door), door);
        await SignInWithRoleAsync(page, SpaFixture.RateLimitedRole);
        var limit = SpaFixture.RateLimitedRequestsPerMinute;
        // A background job is two requests (the submit and its stream); a streamed answer is one.
        var answered = door == SpaPage.BackgroundJob ? 1 : limit;

        for (var ask = 1; ask <= answered; ask++)
        {
            var fits = await page.AskAsync($"Question {ask}");
            await Expect(fits.Locator(".text")).ToContainTextAsync($"Question {ask}");
            await Expect(page.Page.Locator("#rate-requests")).ToHaveTextAsync($"{limit - ask} of {limit} left");
        }
        var refused = await page.AskAsync("One too many");

        await Expect(page.Notice).ToContainTextAsync("Rate limit reached");
        await Expect(page.Notice).ToContainTextAsync(door == SpaPage.BackgroundJob
            ? $"You may send {limit} requests per minute"
            : $"This caller may use {limit} requests per minute");
        await Expect(page.Notice).ToContainTextAsync("Nothing was queued or charged");
        await Expect(page.Notice.Locator(".notice-wait")).ToContainTextAsync(new Regex(@"try again in \d+ s"));
        await Expect(page.Page.Locator("#rate-requests")).ToHaveTextAsync($"0 of {limit} left");
        await Expect(refused).ToHaveClassAsync(new Regex("failed"));
        await Expect(page.Message).ToHaveValueAsync("One too many");
        await page.ScreenshotAsync($"rate-limited-{Caller("rate", door)}");
        page.AssertNoConsoleErrors([429]);
    }

    /// <summary>
    /// What App Service authentication does in Azure: every request to the API carries the signed-in principal's roles in
    /// X-MS-CLIENT-PRINCIPAL (the local host trusts it in Development, as it trusts the principal id).
    /// </summary>
    private static Task SignInWithRoleAsync(SpaPage page, string role)
    {
        var principal = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new { claims = new[] { new { typ = "roles", val = role } } }));
        return page.Page.RouteAsync("**/api/**", route => route.ContinueAsync(new RouteContinueOptions
        {
            Headers = new Dictionary<string, string>(route.Request.Headers) { ["x-ms-client-principal"] = principal },
        }));
    }

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task ModelOutputWithMarkup_IsShownAsText_AndNeverRuns(string door)
    {
        await using var page = await spa.OpenAsync(Caller("escape", door), door);
        const string hostile = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"><b>bold</b>";

        // The offline model repeats what it was sent, so its reply carries the markup back.
        var answer = await page.AskAsync(hostile);

        await Expect(answer.Locator(".text")).ToContainTextAsync(hostile);
        Assert.Equal(0, await page.Page.Locator("#transcript script, #transcript img, #transcript b").CountAsync());
        Assert.Equal("undefined", await page.Page.EvaluateAsync<string>("typeof window.pwned"));
        await page.ScreenshotAsync($"markup-shown-as-text-{Caller("escape", door)}");
        page.AssertNoConsoleErrors();
    }

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task ValidationProblem_NamesTheField_AndMarksItsInput(string door)
    {
        await using var page = await spa.OpenAsync(Caller("validation", door), door);
        await page.Page.GetByLabel("Max tokens per answer").FillAsync("0");

        await page.AskAsync("Hello");

        await Expect(page.Notice).ToContainTextAsync("The request needs fixing");
        // Each door names the field in its own dialect.
        await Expect(page.Notice.Locator(".notice-fields")).ToContainTextAsync(door == SpaPage.BackgroundJob ? "maxTokens" : "max_tokens");
        await Expect(page.Page.GetByLabel("Max tokens per answer")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.ScreenshotAsync($"validation-problem-{Caller("validation", door)}");
        page.AssertNoConsoleErrors([400]);
    }

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task BodyTooLarge_SaysHowMuchTheBackendTakes(string door)
    {
        await using var page = await spa.OpenAsync(Caller("too-large", door), door);

        await page.AskAsync(new string('a', 300_000));

        await Expect(page.Notice).ToContainTextAsync("Your message is too long");
        await Expect(page.Notice).ToContainTextAsync(door == SpaPage.BackgroundJob ? "256 KiB" : "262144 bytes");
        page.AssertNoConsoleErrors([413]);
    }

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task SignedOut_SaysTheSessionExpired_AndKeepsTheConversation(string door)
    {
        await using var page = await spa.OpenAsync(Caller("session", door), door);
        var answered = await page.AskAsync("First question");
        await Expect(answered.Locator(".text")).ToContainTextAsync("First question");

        // The sign-in lapses: the page now has no caller, and this host serves no anonymous callers (401).
        await page.Page.GetByLabel("Caller id (local development)").FillAsync("");
        await page.AskAsync("Second question");

        await Expect(page.Notice).ToContainTextAsync("Your session has expired");
        await Expect(answered.Locator(".text")).ToContainTextAsync("First question");
        await Expect(page.Message).ToBeEditableAsync();
        await page.ScreenshotAsync($"session-expired-{Caller("session", door)}");
        page.AssertNoConsoleErrors([401]);
    }

    [Fact]
    public async Task ServiceUnavailable_SaysNothingWasCharged_AndWhenToRetry()
    {
        await using var page = await spa.OpenAsync("spa-503", SpaPage.BackgroundJob);
        // Storage outages cannot be provoked from a browser; the answer is the one ApiProblems.StorageUnavailable gives.
        await page.Page.RouteAsync("**/api/chat", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 503,
            ContentType = "application/problem+json",
            Headers = new Dictionary<string, string> { ["Retry-After"] = "30" },
            Body = JsonSerializer.Serialize(new
            {
                type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
                title = "Storage is unavailable.",
                status = 503,
                detail = "The backend's storage did not answer; nothing was changed. Try again shortly.",
            }),
        }));

        await page.AskAsync("Hello?");

        await Expect(page.Notice).ToContainTextAsync("The service is briefly unavailable");
        await Expect(page.Notice).ToContainTextAsync("Nothing was queued or charged");
        await Expect(page.Notice.Locator(".notice-wait")).ToContainTextAsync(new Regex(@"try again in \d+ s"));
        await page.ScreenshotAsync("service-unavailable");
        page.AssertNoConsoleErrors([503]);
    }

    [Fact]
    public async Task SpendReport_ForAnAdmin_ShowsTheTable_AndForAnyoneElseSaysWhy()
    {
        await using var admin = await spa.OpenAsync(SpaFixture.AdminCaller);
        await admin.Page.GetByRole(AriaRole.Button, new() { Name = "Load spend report" }).ClickAsync();
        await Expect(admin.Page.Locator("#spend table caption")).ToHaveTextAsync("Spend per model");
        await admin.ScreenshotAsync("spend-report");
        admin.AssertNoConsoleErrors();

        await using var user = await spa.OpenAsync("spa-not-admin");
        await user.Page.GetByRole(AriaRole.Button, new() { Name = "Load spend report" }).ClickAsync();
        await Expect(user.Notice).ToContainTextAsync("Spend is for admins only.");
        user.AssertNoConsoleErrors([403]);
    }
}
