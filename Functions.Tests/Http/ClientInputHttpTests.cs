using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Http;

/// <summary>Never a 5xx for what a client sends, never a silent drop: through the real local host (Kestrel).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ClientInputHttpTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    private readonly CapturingLoggerProvider logs = new();
    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?>
    {
        ["Budgets:PerCallerDailyUsd"] = "0.001",
        ["Spend:AdminCallers"] = "ops",
    };

    protected override void ConfigureHost(WebApplicationBuilder builder)
    {
        logs.AddTo(builder.Logging);
        // Kestrel's default grace for a slow body is 5 s; 2 s (its least is over 1 s) keeps the stalled-upload case short.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(2)));
    }

    [Theory]
    [InlineData("zz")]
    [InlineData("FFFFFFFFFFFFFFFFFF")]
    public async Task ChunkedBodyWithABadChunkSize_Is400Problem_AndNoErrorIsLogged(string chunkSize)
    {
        var (status, headers, body) = await RawAsync(
            "POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
            $"{chunkSize}\r\n{{\"messages\":[]}}\r\n0\r\n\r\n");

        Assert.True(400 == status, string.Join("\n", logs.Entries));
        Assert.Contains("application/problem+json", headers);
        Assert.Contains("\"status\":400", body);
        AssertNothingLoggedAsError();
    }

    [Fact]
    public async Task BodyThatStallsMidUpload_Is408Problem_AndNoErrorIsLogged()
    {
        var (status, headers, _) = await RawAsync(
            "POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"messages\":[");

        Assert.Equal(408, status);
        Assert.Contains("application/problem+json", headers);
        AssertNothingLoggedAsError();
    }

    [Theory]
    [InlineData("GET", "/api/chat/a/b", 404, null)]
    [InlineData("GET", "/api/nothing", 404, null)]
    [InlineData("PUT", "/api/chat", 405, "POST")]
    [InlineData("GET", "/api/chat", 405, "POST")]
    [InlineData("GET", "/api/chat/", 405, "POST")]
    [InlineData("DELETE", "/api/chat/0123456789abcdef0123456789abcdef", 405, "GET")]
    [InlineData("POST", "/api/spend", 405, "GET")]
    public async Task RouteOrMethodMismatch_IsProblemJson(string method, string path, int status, string? allow)
    {
        using var response = await Host.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        Assert.Equal(allow, allow is null ? null : string.Join(", ", response.Content.Headers.Allow));
    }

    [Theory]
    [InlineData("%3Cscript%3Ealert(1)%3C%2Fscript%3E")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    public async Task UnknownJob_Is404_WithoutEchoingTheId(string id)
    {
        using var response = await Host.GetAsync(id, caller: "alice");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("script", body);
        Assert.DoesNotContain(id, body);
    }

    [Theory]
    [InlineData("""{"claims":[{"typ":"roles","val":"\ud800"}]}""")]
    [InlineData("""{"claims":[{"typ":"\udfff","val":"admin"}]}""")]
    [InlineData("""{"role_typ":"\ud800","claims":[{"typ":"roles","val":"admin"}]}""")]
    public async Task PrincipalClaimsWithALoneSurrogate_GrantNothing_AndAreNot500(string principal)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/spend");
        request.Headers.Add(CallerResolver.PrincipalIdHeader, "mallory");
        request.Headers.Add(SpendAdmins.PrincipalHeader, Convert.ToBase64String(Encoding.UTF8.GetBytes(principal)));

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task DuplicateRole_Is400NamingIt_AndQueuesNothing()
    {
        using var response = await PostAsync("""{"messages":[{"role":"user","role":"system","content":"hi"}]}""");

        var problem = await AssertValidationProblemAsync(response, "messages[0].role");
        Assert.Contains("more than once", problem.GetProperty("errors").GetProperty("messages[0].role")[0].GetString());
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task SnakeCaseMaxTokens_Is400WithTheCamelCaseHint_NotABudgetRefusal()
    {
        // Dropped without a word, max_tokens would leave maxTokens at 4,096, whose worst case exceeds the $0.001 budget (429).
        using var response = await PostAsync("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stream":true}""");

        var problem = await AssertValidationProblemAsync(response, "max_tokens");
        Assert.Contains("'maxTokens'", problem.GetProperty("errors").GetProperty("max_tokens")[0].GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("stream", out _));
    }

    [Theory]
    [InlineData("\\u200b")]
    [InlineData("\\u0000")]
    public async Task InvisibleContent_Is400(string content)
    {
        using var response = await PostAsync($$"""{"messages":[{"role":"user","content":"{{content}}"}]}""");

        await AssertValidationProblemAsync(response, "messages[0].content");
        Assert.Empty(Model.Calls);
    }

    [Fact]
    public async Task Latin1Charset_Is415()
    {
        using var response = await PostAsync("""{"messages":[{"role":"user","content":"caf\u00e9"}]}""", "application/json; charset=latin1");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private Task<HttpResponseMessage> PostAsync(string json, string contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = content };
        request.Headers.Add(CallerResolver.PrincipalIdHeader, "alice");
        return Host.Client.SendAsync(request);
    }

    private static async Task<JsonElement> AssertValidationProblemAsync(HttpResponseMessage response, string field)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        return problem;
    }

    private void AssertNothingLoggedAsError() =>
        Assert.DoesNotContain(logs.Entries, entry => entry.StartsWith("Error", StringComparison.Ordinal) || entry.StartsWith("Critical", StringComparison.Ordinal));

    /// <summary>Sends raw bytes over TCP (framing HttpClient would refuse to produce) and reads the answer.</summary>
    private async Task<(int Status, string Headers, string Body)> RawAsync(string request)
    {
        var address = new Uri(Host.Client.BaseAddress!, "/");
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request)); // and then nothing more, but keep the connection open
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
            var text = Encoding.UTF8.GetString(received.ToArray());
            if (text.Contains("\r\n\r\n") && text.EndsWith('}'))
            {
                break;
            }
        }
        var response = Encoding.UTF8.GetString(received.ToArray());
        var headerEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(headerEnd > 0, $"No HTTP response: '{response}'");
        var status = int.Parse(response.Split(' ')[1]);
        return (status, response[..headerEnd], response[(headerEnd + 4)..]);
    }
}
