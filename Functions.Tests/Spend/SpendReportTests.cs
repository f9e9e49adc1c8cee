using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Core.Spend;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Functions.Tests.Spend;

[Collection(AzuriteCollection.Name)]
public sealed class SpendReportTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    protected override IReadOnlyDictionary<string, string?> HostSettings =>
        new Dictionary<string, string?> { ["Spend:AdminCallers"] = "ops, anonymous" };

    [Fact]
    public async Task AdminCaller_GetsTheRollupsByCallerAndByModel()
    {
        // 1000 input and 500 output tokens on gpt-4.1-mini: 1000 × 0.40 + 500 × 1.60 = 1200 µ$.
        Model.Enqueue(FakeReply.Completion("ok", promptTokens: 1000, completionTokens: 500, model: "gpt-4.1-mini-2025-04-14"));
        var id = await Host.SubmitAcceptedAsync(TestHost.UserMessage("hello"), caller: "alice");
        await Host.WaitForTerminalAsync(id, caller: "alice");
        await Host.App.Services.GetRequiredService<SpendRollupHandler>().HandleAsync(CancellationToken.None);

        using var byCaller = await GetAsync("/api/spend", caller: "ops");
        using var byModel = await GetAsync("/api/spend?by=model", caller: "ops");

        Assert.Equal(HttpStatusCode.OK, byCaller.StatusCode);
        var report = await byCaller.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1200, report.GetProperty("total").GetProperty("costMicros").GetInt64());
        Assert.Equal(0.0012m, report.GetProperty("total").GetProperty("costUsd").GetDecimal());
        var group = Assert.Single(report.GetProperty("groups").EnumerateArray());
        Assert.Equal("alice", group.GetProperty("key").GetString());
        Assert.Equal(1, group.GetProperty("total").GetProperty("calls").GetInt64());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), group.GetProperty("days")[0].GetProperty("day").GetString());
        var models = await byModel.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("gpt-4.1-mini-2025-04-14", Assert.Single(models.GetProperty("groups").EnumerateArray()).GetProperty("key").GetString());
    }

    [Fact]
    public async Task TodaysSpend_IsLiveFromTheLedger_BeforeAnyRollupHasRun()
    {
        Model.Enqueue(FakeReply.Completion("ok", promptTokens: 1000, completionTokens: 500, model: "gpt-4.1-mini"));
        var id = await Host.SubmitAcceptedAsync(TestHost.UserMessage("hello"), caller: "alice");
        await Host.WaitForTerminalAsync(id, caller: "alice");

        using var response = await GetAsync("/api/spend", caller: "ops");

        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1200, report.GetProperty("total").GetProperty("costMicros").GetInt64());
        Assert.Equal("alice", Assert.Single(report.GetProperty("groups").EnumerateArray()).GetProperty("key").GetString());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), report.GetProperty("liveFrom").GetString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("rolledUpAt").ValueKind);
    }

    [Fact]
    public async Task PrincipalWithTheAdminRole_Gets200()
    {
        using var response = await GetAsync("/api/spend", caller: "carol", roles: ["reader", "admin"]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("alice", null)]
    [InlineData("carol", new[] { "reader" })]
    [InlineData(null, null)] // the shared anonymous caller, even though Spend:AdminCallers lists it
    public async Task EveryoneElse_Gets403Problem(string? caller, string[]? roles)
    {
        using var response = await GetAsync("/api/spend", caller, roles);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("?from=2026-13-01", "from")]
    [InlineData("?to=yesterday", "to")]
    [InlineData("?by=day", "by")]
    [InlineData("?from=2026-03-10&to=2026-03-01", "from")]
    [InlineData("?from=2025-01-01&to=2026-03-01", "to")]
    public async Task BadQuery_Gets400NamingTheParameter(string query, string parameter)
    {
        using var response = await GetAsync("/api/spend" + query, caller: "ops");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
    }

    private Task<HttpResponseMessage> GetAsync(string path, string? caller, string[]? roles = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        if (roles is not null)
        {
            var principal = JsonSerializer.Serialize(new
            {
                auth_typ = "aad",
                claims = roles.Select(role => new { typ = "roles", val = role }).Prepend(new { typ = "name", val = caller ?? "" }),
            });
            request.Headers.Add(SpendAdmins.PrincipalHeader, Convert.ToBase64String(Encoding.UTF8.GetBytes(principal)));
        }
        return Host.Client.SendAsync(request);
    }
}
