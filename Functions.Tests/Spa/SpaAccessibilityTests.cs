using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>Keyboard, labels, contrast and a narrow screen: the demo works for everyone who opens it.</summary>
[Collection(SpaCollection.Name)]
public sealed class SpaAccessibilityTests(SpaFixture spa)
{
    /// <summary>WCAG 2 contrast of each visible element's own text against the first opaque background behind it.</summary>
    private const string LowContrastText = """
        () => {
          const rgba = c => { const p = c.match(/rgba?\(([^)]+)\)/)[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
                              return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
          const lum = ({ r, g, b }) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                                               .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
          const background = el => { for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
                                     if (c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
          const low = [];
          for (const el of document.querySelectorAll('body *')) {
            if (!el.checkVisibility() || ![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            const [hi, lo] = [lum(rgba(getComputedStyle(el).color)), lum(background(el))].sort((a, b) => b - a);
            const ratio = (hi + 0.05) / (lo + 0.05);
            if (ratio < 4.5) low.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
          }
          return low;
        }
        """;

    private const string UnlabelledControls = """
        () => [...document.querySelectorAll('input, textarea, select, button')]
          .filter(e => e.checkVisibility())
          .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
          .map(e => e.outerHTML)
        """;

    [Fact]
    public async Task EveryControlHasALabel_AndAllTextMeetsContrast_InEveryState()
    {
        await using var page = await spa.OpenAsync("spa-a11y");
        await page.AskAsync("Opening hours?");
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync();
        await page.AskAsync("Opening hours?");
        await page.StartConversationAsync();
        await page.AskAsync("Saved, then listed");
        await page.Page.GetByLabel("Max tokens per answer").FillAsync("4096");
        await page.AskAsync("Something long");
        await Expect(page.Notice).ToBeVisibleAsync();

        Assert.Empty(await page.Page.EvaluateAsync<string[]>(UnlabelledControls));
        Assert.Empty(await page.Page.EvaluateAsync<string[]>(LowContrastText));
        // The delete confirmation, too.
        await page.Page.GetByRole(AriaRole.Button, new() { Name = "Delete “Saved, then listed”" }).ClickAsync();
        await Expect(page.Page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
        Assert.Empty(await page.Page.EvaluateAsync<string[]>(UnlabelledControls));
        Assert.Empty(await page.Page.EvaluateAsync<string[]>(LowContrastText));
        page.AssertNoConsoleErrors([429]);
    }

    [Fact]
    public async Task KeyboardOnly_SkipLinkToTheMessage_EnterSends()
    {
        await using var page = await spa.OpenAsync("spa-keyboard");
        await page.Page.Keyboard.PressAsync("Tab");
        await Expect(page.Page.GetByRole(AriaRole.Link, new() { Name = "Skip to the message box" })).ToBeFocusedAsync();
        await page.Page.Keyboard.PressAsync("Enter");
        await Expect(page.Message).ToBeFocusedAsync();
        await page.Page.Keyboard.TypeAsync("Typed, not clicked");
        await page.Page.Keyboard.PressAsync("Enter");

        await Expect(page.LastAnswer.Locator(".text")).ToContainTextAsync("Typed, not clicked");
        // Tab skips a disabled button: wait until the answer is complete and Send is back.
        await Expect(page.Send).ToBeEnabledAsync();
        await page.Page.Keyboard.PressAsync("Tab");
        await Expect(page.Send).ToBeFocusedAsync();
        await page.ScreenshotAsync("keyboard-focus");
        page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task NarrowScreen_OneColumn_NothingScrollsSideways()
    {
        await using var page = await spa.OpenAsync("spa-narrow", width: 360, height: 740);
        await page.StartConversationAsync();

        var answer = await page.AskAsync("A question from a phone, with a_very_long_unbroken_word_that_must_wrap_somewhere_not_overflow");

        await Expect(answer.Locator(".meta")).ToBeVisibleAsync();
        await Expect(page.SavedConversations).ToContainTextAsync("a_very_long_unbroken");
        Assert.True(await page.Page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
            "The page scrolls sideways on a 360 px screen.");
        var chat = await page.Page.Locator(".chat").BoundingBoxAsync();
        var side = await page.Page.Locator(".side").BoundingBoxAsync();
        Assert.True(side!.Y >= chat!.Y + chat.Height, "On a narrow screen the settings go below the chat.");
        await page.ScreenshotAsync("narrow-screen");
        // The delete confirmation fits the screen.
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Delete “") }).ClickAsync();
        var dialog = await page.Page.GetByRole(AriaRole.Dialog).BoundingBoxAsync();
        Assert.True(dialog!.X >= 0 && dialog.X + dialog.Width <= 360, $"The dialog ({dialog.X}, {dialog.Width} wide) overflows a 360 px screen.");
        await page.ScreenshotAsync("narrow-screen-delete-confirm");
        page.AssertNoConsoleErrors();
    }
}
