using System.Net;
using Functions.Core.Cors;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.ChatCompletions;

/// <summary>CORS on every /api route of the local host: configured origins only, the SDK's headers, the headers SPAs read.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class CorsTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private const string App = "https://app.contoso.com";

    [Theory]
    [InlineData("/api/v1/chat/completions", "POST")]
    [InlineData("/api/chat", "POST")]
    [InlineData("/api/chat/0194f4b2c3d47e8f9a0b1c2d3e4f5a6b", "GET")]
    public async Task Preflight_FromAConfiguredOrigin_AllowsTheSdksHeaders(string path, string method)
    {
        await using var host = await TestHost.StartAsync(Azurite, Model.BaseUrl, new Dictionary<string, string?> { ["Cors:AllowedOrigins"] = App });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
        preflight.Headers.Add("Origin", App);
        preflight.Headers.Add("Access-Control-Request-Method", method);
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os, x-stainless-retry-count, idempotency-key");

        using var response = await host.Client.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(App, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var allowed = response.Headers.GetValues("Access-Control-Allow-Headers").Single();
        foreach (var header in new[] { "authorization", "content-type", "x-stainless-os", "x-stainless-retry-count", "idempotency-key" })
        {
            Assert.Contains(header, allowed, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Response_ToAConfiguredOrigin_ExposesTheHeadersSpasRead()
    {
        Model.Enqueue(FakeReply.Completion("hi", model: "gpt-4.1-mini"));
        await using var host = await TestHost.StartAsync(Azurite, Model.BaseUrl, new Dictionary<string, string?> { ["Cors:AllowedOrigins"] = App });
        using var request = ChatCompletionsClient.Request(ChatCompletionsClient.User("hello"));
        request.Headers.Add("Origin", App);

        using var response = await host.Client.SendAsync(request);

        Assert.Equal(App, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var exposed = response.Headers.GetValues("Access-Control-Expose-Headers").Single();
        foreach (var header in new[] { "Retry-After", "Cache-Status", "x-request-id", "RateLimit", "x-model", "x-route", "x-budget-remaining-usd", "x-budget-reset" })
        {
            Assert.Contains(header, exposed, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost:5173")] // loopback dev servers are allowed in Development only; tests run as Production
    public async Task Preflight_FromAnyOtherOrigin_GetsNoCorsHeaders(string origin)
    {
        await using var host = await TestHost.StartAsync(Azurite, Model.BaseUrl, new Dictionary<string, string?> { ["Cors:AllowedOrigins"] = App });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/chat/completions");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");

        using var response = await host.Client.SendAsync(preflight);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("http://localhost:5173", true)]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("https://localhost", true)]
    [InlineData("http://localhost.evil.example", false)]
    [InlineData("https://app.contoso.com", false)]
    [InlineData("file://localhost/x", false)]
    [InlineData("not an origin", false)]
    public void LoopbackOrigins_AreTheDevServersOnThisMachine(string origin, bool loopback) =>
        Assert.Equal(loopback, CorsHeaders.IsLoopbackOrigin(origin));
}
