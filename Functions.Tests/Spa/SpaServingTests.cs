using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Functions.Tests.Spa;

/// <summary>
/// The demo beside the API on one host: the page, its scripts and its config.json are the SPA's, every /api path is the
/// API's (404/405 problem+json). A catch-all for unmatched routes that reached past /api (as <c>MapFallback</c> does:
/// it takes <c>/</c> and every path without a dot) would answer the page itself with problem+json, and the browser
/// tests would only see a page that never starts.
/// </summary>
[Collection(SpaCollection.Name)]
public sealed class SpaServingTests(SpaFixture spa)
{
    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/index.html", "text/html")]
    [InlineData("/js/app.js", "text/javascript")]
    [InlineData("/styles.css", "text/css")]
    [InlineData("/config.json", "application/json")]
    public async Task TheSpasFiles_AreServed_NotTakenByTheApisCatchAll(string path, string mediaType)
    {
        using var response = await spa.Host.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("GET", "/api/nothing", 404)]
    [InlineData("GET", "/api/index.html", 404)]
    [InlineData("GET", "/api/chat", 405)]
    [InlineData("PUT", "/api/chat", 405)]
    public async Task ApiPaths_StayProblemJson_WhileTheSpaIsServed(string method, string path, int status)
    {
        using var response = await spa.Host.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task APathOutsideTheApiAndTheSpa_IsAPlain404_NotTheApisProblem()
    {
        using var response = await spa.Host.Client.GetAsync("/no-such-page");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEqual("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
