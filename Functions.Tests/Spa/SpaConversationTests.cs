using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Functions.Tests.Conversations;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Functions.Tests.Spa;

/// <summary>Conversations saved on the server (/api/conversations) in a real browser: list, start, continue, reopen, delete.</summary>
[Collection(SpaCollection.Name)]
public sealed class SpaConversationTests(SpaFixture spa)
{
    [Fact]
    public async Task SavedConversation_ContinuedOnBothDoors_ReopensElsewhere_AndIsDeletedOnlyOnceConfirmed_ByKeyboard()
    {
        const string caller = "spa-conversations";
        await using var page = await spa.OpenAsync(caller);
        await Expect(page.Page.Locator("#conversations-status")).ToHaveTextAsync("No saved conversations yet.");

        await page.StartConversationAsync();
        var first = await page.AskAsync("Where is the station?");
        await Expect(first.Locator(".text")).ToContainTextAsync("Where is the station?");
        var saved = page.SavedConversations;
        await Expect(saved).ToHaveCountAsync(1);
        await Expect(saved).ToContainTextAsync("Where is the station?"); // titled by its first message
        await Expect(saved).ToContainTextAsync(new Regex(@"Updated \d\d:\d\d · 2 messages"));
        await Expect(saved).ToHaveAttributeAsync("aria-current", "true");
        await Expect(page.Page.Locator("#conversation-status")).ToHaveTextAsync("Saved conversation: Where is the station?");

        // The next turn goes as a background job: only the new message is sent, and the backend adds the first turn.
        await page.Page.GetByLabel(SpaPage.BackgroundJob).CheckAsync();
        var second = await page.AskAsync("And the museum?");
        await Expect(second.Locator(".status")).ToHaveTextAsync(new Regex("→ Succeeded$"));
        await Expect(second.Locator(".text")).ToContainTextAsync("And the museum?");
        await Expect(saved).ToContainTextAsync("4 messages");
        Assert.True(InputTokens(await second.Locator(".meta").TextContentAsync()) > InputTokens(await first.Locator(".meta").TextContentAsync()),
            "The second turn should have been sent with the first as its history.");
        page.AssertNoConsoleErrors();

        // Another browser, the same caller: the conversation is the server's, and reopens with both turns.
        await using var elsewhere = await spa.OpenAsync(caller, width: 1100, height: 760);
        await Expect(elsewhere.SavedConversations).ToHaveCountAsync(1);
        await elsewhere.SavedConversations.ClickAsync();
        await Expect(elsewhere.Messages).ToHaveCountAsync(4);
        Assert.Equal(["You", "Assistant", "You", "Assistant"], await elsewhere.Messages.Locator(".role").AllTextContentsAsync());
        await Expect(elsewhere.Messages.Nth(0).Locator(".text")).ToHaveTextAsync("Where is the station?");
        await Expect(elsewhere.Messages.Nth(3).Locator(".text")).ToHaveTextAsync(await second.Locator(".text").TextContentAsync() ?? "");
        await Expect(elsewhere.Message).ToBeFocusedAsync();
        await elsewhere.ScreenshotAsync("conversation-reopened");

        // Delete by keyboard: the dialog opens on Cancel, Escape keeps the conversation and gives focus back.
        var delete = elsewhere.Page.GetByRole(AriaRole.Button, new() { Name = "Delete “Where is the station?”" });
        await delete.FocusAsync();
        await elsewhere.Page.Keyboard.PressAsync("Enter");
        var dialog = elsewhere.Page.GetByRole(AriaRole.Dialog, new() { Name = "Delete this conversation?" });
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog).ToContainTextAsync("“Where is the station?” and all its messages are removed");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToBeFocusedAsync();
        await elsewhere.ScreenshotAsync("conversation-delete-confirm");
        await elsewhere.Page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(delete).ToBeFocusedAsync();
        await Expect(elsewhere.SavedConversations).ToHaveCountAsync(1);

        await elsewhere.Page.Keyboard.PressAsync("Enter");
        await elsewhere.Page.Keyboard.PressAsync("Tab");
        await Expect(dialog.GetByRole(AriaRole.Button, new() { Name = "Delete conversation" })).ToBeFocusedAsync();
        await elsewhere.Page.Keyboard.PressAsync("Enter");

        await Expect(elsewhere.SavedConversations).ToHaveCountAsync(0);
        await Expect(elsewhere.Page.Locator("#conversations-status")).ToHaveTextAsync("No saved conversations yet.");
        await Expect(elsewhere.Messages).ToHaveCountAsync(0); // it was the one open
        await Expect(elsewhere.NewConversation).ToBeFocusedAsync();
        using var listed = await spa.Host.SendAsync(HttpMethod.Get, "/api/conversations", caller);
        Assert.Equal(0, (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conversations").GetArrayLength());
        elsewhere.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task ReopenedHistory_WithMarkup_IsShownAsText_AndNeverRuns()
    {
        const string caller = "spa-conversation-markup";
        const string hostile = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"><b>bold</b>";
        // Another client of the same caller had this turn; the offline model repeats what it was sent, markup and all.
        var id = await spa.Host.CreateConversationAsync(caller);
        using var turn = await spa.Host.SendAsync(HttpMethod.Post, "/api/v1/chat/completions", caller,
            new { messages = new[] { new { role = "user", content = hostile } }, conversation_id = id, max_tokens = 100 });
        turn.EnsureSuccessStatusCode();

        await using var page = await spa.OpenAsync(caller);
        await Expect(page.SavedConversations).ToContainTextAsync("<script>window.pwned"); // the title is the message's start
        await page.SavedConversations.ClickAsync();

        await Expect(page.Messages).ToHaveCountAsync(2);
        await Expect(page.Messages.First.Locator(".text")).ToHaveTextAsync(hostile);
        await Expect(page.LastAnswer.Locator(".text")).ToContainTextAsync(hostile);
        Assert.Equal(0, await page.Page.Locator("#transcript script, #transcript img, #transcript b, #conversations script, #conversations img").CountAsync());
        Assert.Equal("undefined", await page.Page.EvaluateAsync<string>("typeof window.pwned"));
        await page.ScreenshotAsync("conversation-markup-shown-as-text");
        page.AssertNoConsoleErrors();
    }

    private static int InputTokens(string? meta) => int.Parse(Regex.Match(meta ?? "", @"(\d+) in /").Groups[1].Value);
}
