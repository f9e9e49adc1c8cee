using Functions.Core;
using Functions.Local.Development;
using Functions.Local.Queues;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Functions.Local;

/// <summary>
/// Builds the local host in the two steps of <see cref="WebApplication"/>: <see cref="CreateBuilder"/> reads the Functions
/// app's settings (a caller, such as a test, may then add its own settings and services, as WebApplicationFactory does),
/// and <see cref="BuildAsync"/> starts the dependencies that are missing and adds Core, the triggers and the endpoints.
/// </summary>
public static class LocalHost
{
    /// <summary>Where <c>func start</c> listens, so clients and the README work against either host.</summary>
    public const string DefaultUrl = "http://localhost:7071";

    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        FunctionsConfigurationFiles.Add(builder.Configuration, builder.Environment);
        return builder;
    }

    public static async Task<WebApplication> BuildAsync(WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var dependencies = await DevelopmentDependencies.StartMissingAsync(builder.Configuration);
        // Registered first, so it stops last: Azurite outlives the listeners that drain into it.
        builder.Services.AddHostedService(_ => dependencies);
        builder.Services.AddServerlessCore(builder.Configuration);
        builder.Services.AddQueueTriggers(typeof(ChatQueueTriggers));
        builder.Services.AddCacheTimerTriggers();
        builder.Services.AddSpendTimerTriggers();

        builder.Services.AddLocalCors(builder.Environment.IsDevelopment());

        // A bug answers 500 problem+json with no stack trace; client mistakes never get this far (they are 4xx).
        builder.Services.AddProblemDetails();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseCors();
        app.MapDemoSpa();
        app.MapChatApi();
        app.MapSpendApi();
        dependencies.Announce(app.Logger);
        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
            "Functions.Local is serving POST {Url}/api/chat, GET {Url}/api/chat/{{id}}, POST {Url}/api/v1/chat/completions and GET {Url}/api/spend; " +
            "queue triggers {ProcessChat} and {ProcessChatPoison} (WebJobs SDK) and timers {SpendRollup} and {SweepCache} are running",
            ListeningUrl(app), ListeningUrl(app), ListeningUrl(app), ListeningUrl(app),
            FunctionNames.ProcessChat, FunctionNames.ProcessChatPoison, FunctionNames.SpendRollup, FunctionNames.SweepCache));
        return app;
    }

    /// <summary>The first address Kestrel bound (the real port when configured with port 0).</summary>
    public static string ListeningUrl(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
}
