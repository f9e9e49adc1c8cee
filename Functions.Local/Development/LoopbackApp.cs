using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Functions.Local.Development;

/// <summary>A small Kestrel app on a free 127.0.0.1 port: the offline model here, and the fake servers the tests script.</summary>
public static class LoopbackApp
{
    /// <param name="map">Maps the app's endpoints before it starts.</param>
    /// <returns>The started app and its base address, ending in '/': resolve paths against it (<c>new Uri(address, "v1")</c>).</returns>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address.TrimEnd('/') + "/"));
    }
}
