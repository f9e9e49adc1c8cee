using System.Text.RegularExpressions;
using Functions.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>The demo page in one browser context, with what its console said, and the steps a person takes.</summary>
public sealed partial class SpaPage : IAsyncDisposable
{
    private readonly IBrowserContext context;
    private readonly List<string> consoleErrors = [];

    static SpaPage() => SetDefaultExpectTimeout(15_000);

    private SpaPage(IBrowserContext context, IPage page)
    {
        this.context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                lock (consoleErrors) { consoleErrors.Add(message.Text); }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (consoleErrors) { consoleErrors.Add("page error: " + error); }
        };
    }

    /// <summary>The two ways to ask, as the page's "How to ask" radio buttons name them.</summary>
    public const string Streamed = "Streamed chat";
    public const string BackgroundJob = "Background job";

    public IPage Page { get; }

    public ILocator Message => Page.GetByLabel("Message", new() { Exact = true });
    public ILocator Send => Page.GetByRole(AriaRole.Button, new() { Name = "Send" });
    public ILocator Notice => Page.GetByRole(AriaRole.Alert);
    public ILocator Answers => Page.Locator("#transcript .message.assistant");
    public ILocator LastAnswer => Answers.Last;
    public ILocator Messages => Page.Locator("#transcript .message");
    public ILocator NewConversation => Page.GetByRole(AriaRole.Button, new() { Name = "New conversation" });
    /// <summary>Each saved conversation's button in the list (its title, when it was updated, how many messages).</summary>
    public ILocator SavedConversations => Page.Locator("#conversations .conversation-open");
    public ILocator Budget => Page.Locator("#budget");

    /// <param name="caller">Given in the address (<c>/?caller=</c>), as a developer opens the demo as someone.</param>
    public static async Task<SpaPage> OpenAsync(IBrowserContext context, string? caller, string door)
    {
        var page = new SpaPage(context, await context.NewPageAsync());
        await page.Page.GotoAsync(caller is null ? "/" : "/?caller=" + Uri.EscapeDataString(caller));
        await Expect(page.Page.Locator("body[data-ready=true]")).ToBeAttachedAsync();
        if (door != Streamed)
        {
            await page.Page.GetByLabel(door).CheckAsync();
        }
        return page;
    }

    /// <summary>Starts a saved conversation and waits until the page continues it (its transcript empty, the message box focused).</summary>
    public async Task StartConversationAsync()
    {
        await NewConversation.ClickAsync();
        await Expect(Page.Locator("#conversation-status")).ToHaveTextAsync(new Regex("^Saved conversation: "));
        await Expect(Messages).ToHaveCountAsync(0);
        await Expect(Message).ToBeFocusedAsync();
    }

    /// <summary>Types and sends a message, and waits until the page has finished with it (answered or refused).</summary>
    public async Task<ILocator> AskAsync(string text)
    {
        var before = await Answers.CountAsync();
        await Message.FillAsync(text);
        await Send.ClickAsync();
        await Expect(Answers).ToHaveCountAsync(before + 1);
        await Expect(Send).ToBeEnabledAsync();
        return Answers.Nth(before);
    }

    /// <summary>
    /// From now on, records every distinct text the last answer's status line and text go through, as the page changes
    /// them (a MutationObserver), so a test can see intermediate states: tokens arriving, a reconnect.
    /// </summary>
    public Task RecordAnswerStatesAsync() => Page.EvaluateAsync("""
        () => {
          window.__states = { status: [], text: [] };
          const record = () => {
            const answer = [...document.querySelectorAll('#transcript .message.assistant')].at(-1);
            for (const part of ['status', 'text']) {
              const now = answer?.querySelector('.' + part)?.textContent ?? '';
              const seen = window.__states[part];
              if (now && seen.at(-1) !== now) seen.push(now);
            }
          };
          new MutationObserver(record).observe(document.getElementById('transcript'),
            { subtree: true, childList: true, characterData: true });
        }
        """);

    /// <param name="part"><c>status</c> or <c>text</c>.</param>
    public Task<string[]> RecordedAnswerStatesAsync(string part) =>
        Page.EvaluateAsync<string[]>("part => window.__states[part]", part);

    /// <summary>From now on, every opening of a job stream the page makes (the browser's own reconnects included).</summary>
    public List<IRequest> RecordJobStreamOpenings()
    {
        var streams = new List<IRequest>();
        Page.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath.EndsWith("/stream", StringComparison.Ordinal))
            {
                lock (streams) { streams.Add(request); }
            }
        };
        return streams;
    }

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new() { Path = Path.Combine(BrowserFixture.ScreenshotFolder, name + ".png"), FullPage = true });

    /// <summary>
    /// Nothing went wrong in the page. The browser itself logs every non-2xx response as a console error; the statuses a
    /// test provokes on purpose are allowed, and so are the failed loads of a connection it cut.
    /// </summary>
    public void AssertNoConsoleErrors(int[]? expectedStatuses = null, bool connectionCut = false)
    {
        List<string> unexpected;
        lock (consoleErrors)
        {
            unexpected = consoleErrors.Where(text =>
                !(FailedLoad().Match(text) is { Success: true } failed && (expectedStatuses ?? []).Contains(int.Parse(failed.Groups[1].Value)))
                && !(connectionCut && text.Contains("net::ERR_", StringComparison.Ordinal))).ToList();
        }
        Assert.True(unexpected.Count == 0, "Console errors: " + string.Join(" | ", unexpected));
    }

    public ValueTask DisposeAsync() => context.DisposeAsync();

    [GeneratedRegex(@"the server responded with a status of (\d{3})")]
    private static partial Regex FailedLoad();
}
