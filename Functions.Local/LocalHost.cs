using Functions.Core;
using Functions.Core.Callers;
using Functions.Core.Http;
using Functions.Core.Settings;
using Functions.Local.Development;
using Functions.Local.Queues;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Functions.Local;

/// <summary>
/// Builds the local host in the two steps of <see cref="WebApplication"/>: <see cref="CreateBuilder"/> reads the Functions
/// app's settings (a caller, such as a test, may then add its own settings and services, as WebApplicationFactory does),
/// and <see cref="BuildAsync"/> starts the dependencies that are missing, adds Core, the triggers and the endpoints, and
/// checks every setting before anything starts.
/// </summary>
public static class LocalHost
{
    /// <summary>Where <c>func start</c> listens, so clients and the README work against either host.</summary>
    public const string DefaultUrl = "http://localhost:7071";

    /// <summary>
    /// The environment the launch profile suggests. <c>dotnet run</c> applies a profile's variables over the shell's, so a
    /// profile that set ASPNETCORE_ENVIRONMENT would win over the user's; it sets this instead, used only when the user
    /// chose no environment.
    /// </summary>
    public const string DefaultEnvironmentVariable = "FUNCTIONS_LOCAL_DEFAULT_ENVIRONMENT";

    /// <summary>Runs the host until it is stopped. A bad setting ends it with one line naming the setting, and exit code 1.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            await using var app = await BuildAsync(CreateBuilder(args));
            await app.RunAsync();
            return 0;
        }
        catch (Exception ex) when (StartupFailure.Describe(ex) is { } line)
        {
            await Console.Error.WriteLineAsync(line);
            return 1;
        }
    }

    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(Options(args));
        FunctionsConfigurationFiles.Add(builder.Configuration, builder.Environment);
        return builder;
    }

    public static async Task<WebApplication> BuildAsync(WebApplicationBuilder builder)
    {
        builder.Configuration.TreatEmptyAsUnset();
        if (!new[] { WebHostDefaults.ServerUrlsKey, "http_ports", "https_ports" }.Any(key => !string.IsNullOrWhiteSpace(builder.Configuration[key])))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var dependencies = await DevelopmentDependencies.StartMissingAsync(builder.Configuration);
        // Registered first, so it stops last: Azurite outlives the listeners that drain into it.
        builder.Services.AddHostedService(_ => dependencies);
        builder.Services.AddServerlessCore(builder.Configuration);
        builder.Services.AddQueueTriggers(typeof(ChatQueueTriggers), typeof(ConversationQueueTriggers));
        builder.Services.AddCacheTimerTriggers();
        builder.Services.AddJobTimerTriggers();
        builder.Services.AddSpendTimerTriggers();
        builder.Services.AddAlertTimerTriggers();

        builder.Services.AddLocalCors(builder.Environment.IsDevelopment());

        var app = builder.Build();
        // A bug answers 500 problem+json with no stack trace; client faults are 4xx (Core's AddApiProblems).
        app.UseExceptionHandler();
        app.UseCors();
        app.MapDemoSpa();
        app.MapChatApi();
        app.MapConversationsApi();
        app.MapSpendApi();
        // The Functions app's catch-all trigger: routing ranks a catch-all last, so it takes only what no route and method took.
        app.MapMethods($"/{FunctionNames.RoutePrefix}/{FunctionNames.UnmatchedRouteTemplate}",
                ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], (HttpRequest request) => UnmatchedRouteHandler.Handle(request))
            .WithName(FunctionNames.UnmatchedRoute);
        dependencies.Announce(app.Logger);
        try
        {
            await StartupCheck.RunAsync(app.Services, CancellationToken.None);
        }
        catch (Exception ex)
        {
            app.Logger.LogDebug(ex, "Start-up check failed");
            await dependencies.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            throw;
        }
        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
            "Functions.Local is serving POST {Url}/api/chat, GET {Url}/api/chat/{{id}}, GET {Url}/api/chat/{{id}}/stream, " +
            "POST {Url}/api/v1/chat/completions, {Url}/api/conversations and GET {Url}/api/spend; " +
            "queue triggers {ProcessChat}, {ProcessChatPoison} and {SummarizeConversation} (WebJobs SDK) " +
            "and timers {SpendRollup}, {SweepCache}, {SweepJobs} and {OperationalAlerts} are running. Environment: {Environment}. {TrustRule}",
            ListeningUrl(app), ListeningUrl(app), ListeningUrl(app), ListeningUrl(app), ListeningUrl(app), ListeningUrl(app),
            FunctionNames.ProcessChat, FunctionNames.ProcessChatPoison, FunctionNames.SummarizeConversation,
            FunctionNames.SpendRollup, FunctionNames.SweepCache, FunctionNames.SweepJobs, FunctionNames.OperationalAlerts,
            app.Environment.EnvironmentName, TrustRule(app)));
        return app;
    }

    /// <summary>The first address Kestrel bound (the real port when configured with port 0).</summary>
    public static string ListeningUrl(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

    /// <summary>The environment the user chose (variables or --environment) wins; the launch profile's default only fills a gap.</summary>
    private static WebApplicationOptions Options(string[] args)
    {
        var chosen = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
        var userChose = new[] { "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", HostDefaults.EnvironmentKey }
            .Any(key => !string.IsNullOrWhiteSpace(chosen[key]));
        var suggested = chosen[DefaultEnvironmentVariable];
        return new WebApplicationOptions
        {
            Args = args,
            // appsettings*.json sit next to the binaries: found whatever folder the host is started from.
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = userChose || string.IsNullOrWhiteSpace(suggested) ? null : suggested,
        };
    }

    /// <summary>Who a request is, in one sentence, because it decides who can read whose jobs.</summary>
    private static string TrustRule(WebApplication app)
    {
        var callers = app.Services.GetRequiredService<IOptions<CallerOptions>>().Value;
        var anonymous = callers.AllowAnonymous
            ? $"as the shared anonymous caller '{callers.AnonymousCallerId}'"
            : "with 401 (Callers__AllowAnonymous=false)";
        return callers.TrustPrincipalHeader
            ? $"Callers: the {CallerResolver.PrincipalIdHeader} header is TRUSTED (Callers__TrustPrincipalHeader=true), so any client can " +
              $"claim any caller; requests without it are answered {anonymous}."
            : $"Callers: the {CallerResolver.PrincipalIdHeader} header is ignored (Callers__TrustPrincipalHeader=false); every request " +
              $"is answered {anonymous}.";
    }
}
