using Functions.Core.Callers;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Functions.Local.Development;

/// <summary>Where the demo single-page app is served from, and whether it is (<c>DemoSpa</c> section).</summary>
public sealed class DemoSpaOptions
{
    public const string SectionName = "DemoSpa";

    /// <summary>Serve the demo at <c>/</c>; unset means in the Development environment only.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The folder to serve; unset means <c>spa/</c> at the repository root.</summary>
    public string? Root { get; set; }
}

/// <summary>
/// Serves <c>spa/</c> (static files, no build step) at <c>/</c>, beside the API on the same origin, so that
/// <c>dotnet run --project Functions.Local</c> and then http://localhost:7071/ shows every capability at work.
/// </summary>
public static class DemoSpa
{
    public static WebApplication MapDemoSpa(this WebApplication app)
    {
        var options = app.Configuration.GetSection(DemoSpaOptions.SectionName).Get<DemoSpaOptions>() ?? new DemoSpaOptions();
        if (!(options.Enabled ?? app.Environment.IsDevelopment()))
        {
            return app;
        }
        var root = options.Root ?? (RepositoryFiles.FindRoot() is { } repository ? Path.Combine(repository, "spa") : null);
        if (root is null || !File.Exists(Path.Combine(root, "index.html")))
        {
            app.Logger.LogWarning("Demo SPA: not served, no index.html in {Folder}", root ?? "spa/ (repository not found)");
            return app;
        }

        // The page asks where the API is. Here: on this origin, and the caller may be typed in when this host trusts
        // the principal header (Development). A deployed site gets its config.json from azd's prepackage hook.
        // An endpoint, so it wins over a config.json left in spa/ by a deployment (static files serve only unrouted paths).
        app.MapGet("/config.json", (IOptions<CallerOptions> callers) =>
            Results.Json(new { apiBase = "", callerField = callers.Value.TrustPrincipalHeader }));

        ServeFiles(app, root);
        app.Lifetime.ApplicationStarted.Register(() =>
            app.Logger.LogInformation("Demo SPA: open {Url}/ in a browser (files from {Folder})", LocalHost.ListeningUrl(app), root));
        return app;
    }

    /// <summary>The SPA's folder as a static site, as a static host (Static Web Apps) serves it.</summary>
    public static void ServeFiles(IApplicationBuilder app, string root)
    {
        var files = new PhysicalFileProvider(Path.GetFullPath(root));
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".mjs"] = "text/javascript";
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            OnPrepareResponse = context =>
            {
                // A demo is edited while it runs: always revalidate, never serve yesterday's script.
                context.Context.Response.Headers.CacheControl = "no-cache";
                context.Context.Response.Headers.XContentTypeOptions = "nosniff";
            },
        });
    }
}
