using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Functions.Core.Callers;
using Functions.Core.Requests;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Functions.Tests.App;

/// <summary>
/// The same requests through both hosts: the Azure Functions app (its worker wiring, <see cref="FunctionsAppHost"/>) and
/// Functions.Local (Kestrel). Each must answer the same status and headers, problem bodies identical (but for the
/// request's trace id), other bodies of the same shape. A behaviour in one host and not the other is a bug.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class BothHostsTests(AzuriteFixture azurite, ITestOutputHelper output) : HostedTest(azurite)
{
    /// <summary>Set by the transport or per request (the clock, a job id), not by the app.</summary>
    private static readonly string[] TransportHeaders = ["Date", "Server", "Transfer-Encoding", "Content-Length"];
    private static readonly string[] PerRequestValues = ["traceId", "id", "statusUrl", "streamUrl", "createdAt", "completedAt", "detail"];

    /// <summary>The table: each request is sent to both hosts (one pair of hosts for them all, to keep the suite fast).</summary>
    private static readonly string[] Requests =
    [
        "submit", "submit without messages", "submit with malformed JSON", "submit with an unknown model", "submit anonymously",
        "status of an unknown job", "status with a malformed id", "spend as a non-admin", "spend with a bad date", "spend as an admin",
    ];

    private static readonly string UnknownJob = Guid.NewGuid().ToString("N");

    private static HttpRequestMessage Request(string name) => name switch
    {
        "submit" => Post(new { messages = new[] { new { role = "user", content = "hello" } } }),
        "submit without messages" => Post(new { messages = Array.Empty<object>() }),
        "submit with malformed JSON" => Post("{\"messages\": [", raw: true),
        "submit with an unknown model" => Post(new { model = "not-a-model", messages = new[] { new { role = "user", content = "hi" } } }),
        "submit anonymously" => Post(new { messages = new[] { new { role = "user", content = "hi" } } }, caller: null),
        "status of an unknown job" => Get("/api/chat/" + UnknownJob),
        "status with a malformed id" => Get("/api/chat/not..an..id"),
        "spend as a non-admin" => Get("/api/spend"),
        "spend with a bad date" => Get("/api/spend?from=yesterday", caller: "ops"),
        "spend as an admin" => Get("/api/spend?from=2026-01-01&to=2026-01-02", caller: "ops"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Spend:AdminCallers"] = "ops",
        ["Callers:AllowAnonymous"] = "false",
        // So a 202 carries the x-budget-* headers, in both hosts alike.
        ["Budgets:PerCallerDailyUsd"] = "1",
    };

    [Fact]
    public async Task BothHosts_AnswerEachRequestOfTheTable_TheSameWay()
    {
        var local = await StartHostAsync(Settings);
        var app = await StartFunctionsAppAsync(Settings);

        foreach (var name in Requests)
        {
            using var fromLocal = await local.Client.SendAsync(Request(name));
            using var fromApp = await app.SendAsync(Request(name));

            try
            {
                await AssertSameAsync(fromLocal, fromApp);
            }
            catch (Xunit.Sdk.XunitException failure)
            {
                throw new Xunit.Sdk.XunitException($"'{name}': {failure.Message}");
            }
        }
    }

    [Fact]
    public async Task BothHosts_AnswerAnUnexpectedException_WithTheSameProblemJson_AndNoStackTrace()
    {
        void Bug(IServiceCollection services) =>
            services.AddSingleton<ChatRequestReader>(_ => throw new InvalidOperationException("secret internals"));
        TestHost local;
        using (new HostCapture(builder => builder.ConfigureServices((_, services) => Bug(services)), stopWhenBuilt: false))
        {
            local = await StartHostAsync(Settings); // the bug registered after Core's own services, as in the app
        }
        var app = await StartFunctionsAppAsync(Settings, Bug);

        using var fromLocal = await local.Client.SendAsync(Request("submit"));
        using var fromApp = await app.SendAsync(Request("submit"));

        Assert.Equal(500, (int)fromLocal.StatusCode);
        Assert.DoesNotContain("secret internals", await fromLocal.Content.ReadAsStringAsync());
        await AssertSameAsync(fromLocal, fromApp);
    }

    private async Task AssertSameAsync(HttpResponseMessage local, HttpResponseMessage app)
    {
        output.WriteLine($"{local.RequestMessage?.Method} {local.RequestMessage?.RequestUri?.PathAndQuery} → {(int)local.StatusCode}\n{Headers(local)}\n{await local.Content.ReadAsStringAsync()}");
        Assert.Equal(local.StatusCode, app.StatusCode);
        Assert.Equal(Headers(local), Headers(app));
        var localBody = await local.Content.ReadAsStringAsync();
        var appBody = await app.Content.ReadAsStringAsync();
        if (local.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            Assert.Equal(Without(localBody, "traceId"), Without(appBody, "traceId"));
        }
        else if (localBody.Length > 0)
        {
            Assert.Equal(Shape(JsonNode.Parse(localBody)), Shape(JsonNode.Parse(appBody)));
        }
        else
        {
            Assert.Empty(appBody);
        }
    }

    /// <summary>The app's headers and their values, but for those that differ per request.</summary>
    private static string Headers(HttpResponseMessage response) =>
        string.Join("\n", response.Headers.Concat(response.Content.Headers)
            .Where(header => !TransportHeaders.Contains(header.Key, StringComparer.OrdinalIgnoreCase))
            .Select(header => $"{header.Key.ToLowerInvariant()}: " +
                (header.Key.Equals("Location", StringComparison.OrdinalIgnoreCase) ? "(a job's URL)" : string.Join(",", header.Value)))
            .Order());

    private static string Without(string json, string property)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        Assert.True(node.Remove(property) || true);
        return node.ToJsonString();
    }

    /// <summary>Property names and value kinds, with the values that differ per request left out.</summary>
    private static string Shape(JsonNode? node) => node switch
    {
        JsonObject obj => "{" + string.Join(",", obj.Select(p => p.Key + ":" +
            (PerRequestValues.Contains(p.Key) ? p.Value?.GetValueKind().ToString() : Shape(p.Value)))) + "}",
        JsonArray array => "[" + string.Join(",", array.Select(Shape)) + "]",
        JsonValue value => value.GetValueKind() == JsonValueKind.String ? JsonSerializer.Serialize(value.GetValue<string>()) : value.ToJsonString(),
        _ => "null",
    };

    private static HttpRequestMessage Post(object body, string? caller = "alice", bool raw = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = raw ? new StringContent((string)body, Encoding.UTF8, "application/json") : JsonContent.Create(body),
        };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return request;
    }

    private static HttpRequestMessage Get(string path, string? caller = "alice")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return request;
    }
}
