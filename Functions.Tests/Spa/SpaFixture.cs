using Functions.Local.Development;
using Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Functions.Tests.Spa;

/// <summary>
/// The demo SPA as a person meets it: the real local host (Kestrel, queue listener, Core) serving spa/ at <c>/</c>,
/// on its own Azurite, answered by the offline model, and one headless Chromium for every test in the collection.
/// Each test signs in as its own caller, so the per-caller cache and budget never cross between tests.
/// </summary>
public sealed class SpaFixture : IAsyncLifetime
{
    /// <summary>Fits a few hundred tokens of gpt-4.1-mini output, and not the 4,096 a request may ask for.</summary>
    public const string PerCallerDailyBudgetUsd = "0.005";

    public const string AdminCaller = "spa-admin";

    /// <summary>Every request that names no model takes this route, so each answer says which route served it.</summary>
    public const string DefaultRoute = "demo";

    /// <summary>A role with a small request rate limit; every other caller has none.</summary>
    public const string RateLimitedRole = "trial";
    public const int RateLimitedRequestsPerMinute = 2;

    private readonly AzuriteFixture azurite = new();
    private readonly BrowserFixture browser = new();
    private OfflineModelServer? model;
    private WebApplication? staticSite;
    private string apiOrigin = "";

    public TestHost Host { get; private set; } = null!;

    public IBrowser Browser => browser.Browser;

    /// <summary>
    /// The same spa/ served from another origin, as a static host (Static Web Apps) serves it in Azure: its config.json
    /// points at the API's origin, which allows it in CORS, so every call crosses origins as a deployed demo's do.
    /// </summary>
    public Uri StaticSiteOrigin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(azurite.InitializeAsync(), browser.InitializeAsync());
        model = await OfflineModelServer.StartAsync();
        (staticSite, StaticSiteOrigin) = await LoopbackApp.StartAsync(site =>
        {
            site.MapGet("/config.json", () => Results.Json(new { apiBase = apiOrigin, callerField = true }));
            DemoSpa.ServeFiles(site, Path.Combine(RepositoryFiles.FindRoot()!, "spa"));
        });
        Host = await TestHost.StartAsync(azurite, model.BaseUrl, new Dictionary<string, string?>
        {
            ["Cors:AllowedOrigins"] = StaticSiteOrigin.GetLeftPart(UriPartial.Authority),
            ["DemoSpa:Enabled"] = "true",
            ["Budgets:PerCallerDailyUsd"] = PerCallerDailyBudgetUsd,
            ["Routing:DefaultRoute"] = DefaultRoute,
            ["Routing:Routes:0:Name"] = DefaultRoute,
            ["Routing:Routes:0:Models:0"] = "gpt-4.1-mini",
            // A page with no caller is a signed-out user: the session-expired path.
            ["Callers:AllowAnonymous"] = "false",
            ["Spend:AdminCallers"] = AdminCaller,
            // Only callers in this role (the platform's X-MS-CLIENT-PRINCIPAL says so) have a rate limit: the 429 path.
            [$"RateLimits:Roles:{RateLimitedRole}:RequestsPerMinute"] = RateLimitedRequestsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        apiOrigin = Host.Client.BaseAddress!.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Opens the demo in a fresh browser context (no shared storage), signed in as <paramref name="caller"/>.</summary>
    /// <param name="door"><see cref="SpaPage.Streamed"/> (the page's default) or <see cref="SpaPage.BackgroundJob"/>.</param>
    /// <param name="crossOrigin">Open the copy on <see cref="StaticSiteOrigin"/> instead of the local host's own.</param>
    public async Task<SpaPage> OpenAsync(string? caller, string door = SpaPage.Streamed, int width = 1280, int height = 900,
        bool crossOrigin = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = (crossOrigin ? StaticSiteOrigin : Host.Client.BaseAddress!).ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        return await SpaPage.OpenAsync(context, caller, door);
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        if (model is not null)
        {
            await model.DisposeAsync();
        }
        if (staticSite is not null)
        {
            await staticSite.DisposeAsync();
        }
        await browser.DisposeAsync();
        await azurite.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SpaCollection : ICollectionFixture<SpaFixture>
{
    public const string Name = "Demo SPA in Chromium";
}
