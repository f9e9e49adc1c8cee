using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Local;
using Functions.Local.Development;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Local;

/// <summary>Start-up as an operator sees it: Functions.Local as its own process, its exit code and its console.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StartupTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private FakeOpenAIServer model = null!;

    public async Task InitializeAsync() => model = await FakeOpenAIServer.StartAsync();

    public async Task DisposeAsync() => await model.DisposeAsync();

    [Theory]
    [InlineData("Budgets__PerCallerDailyUsd", "abc", "a number")]
    [InlineData("Resilience__JobDeadline", "soon", "a duration")]
    [InlineData("Requests__MaxMessages", "0", "between 1 and 1000")]
    [InlineData("AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=not%base64!;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1",
        "connection string")]
    public async Task BadSetting_StopsTheHostWithOneLineNamingIt(string setting, string value, string reason)
    {
        var environment = ProcessSettings.For(azurite, model.BaseUrl, LocalHostProcess.FreePort());
        environment[setting] = value;
        await using var host = LocalHostProcess.Start(environment);

        var exitCode = await host.WaitForExitAsync();

        var output = string.Join('\n', host.Output);
        Assert.Equal(1, exitCode);
        var line = Assert.Single(host.Output, line => line.Contains(setting, StringComparison.Ordinal));
        Assert.Contains(reason, line);
        Assert.DoesNotContain(host.Output, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("Hosting failed to start", output);
        if (setting == "AzureWebJobsStorage")
        {
            Assert.DoesNotContain("not%base64!", output); // a connection string holds a key: never echoed
        }
    }

    [Fact]
    public async Task EnvironmentAndUrlsTheUserSets_WinOverTheLaunchProfilesDefault_AndTheBannerSaysWhichRuleHolds()
    {
        var port = LocalHostProcess.FreePort();
        var environment = ProcessSettings.For(azurite, model.BaseUrl, port);
        environment[LocalHost.DefaultEnvironmentVariable] = "Development"; // what `dotnet run`'s launch profile sets
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        await using var host = LocalHostProcess.Start(environment);

        var listening = await host.WaitUntilListeningAsync();

        Assert.Equal(port, listening.Port);
        var banner = await BannerAsync(host);
        Assert.Contains("Environment: Production.", banner);
        Assert.Contains($"the {CallerResolver.PrincipalIdHeader} header is ignored", banner);
        // The forgeable header is not trusted: "alice" and "bob" are the same anonymous caller.
        using var client = new HttpClient { BaseAddress = listening };
        var id = await SubmitAsync(client, "alice");
        using var asBob = await GetAsync(client, id, "bob");
        Assert.Equal(HttpStatusCode.OK, asBob.StatusCode);
    }

    [Fact]
    public async Task LaunchProfilesDefault_AppliesWhenTheUserChoseNoEnvironment()
    {
        var environment = ProcessSettings.For(azurite, model.BaseUrl, LocalHostProcess.FreePort());
        environment[LocalHost.DefaultEnvironmentVariable] = "Development";
        await using var host = LocalHostProcess.Start(environment);

        using var client = new HttpClient { BaseAddress = await host.WaitUntilListeningAsync() };

        var banner = await BannerAsync(host);
        Assert.Contains("Environment: Development.", banner);
        Assert.Contains("header is TRUSTED", banner);
        var id = await SubmitAsync(client, "alice");
        using var asBob = await GetAsync(client, id, "bob");
        Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
    }

    [Fact]
    public void LaunchProfile_SetsNeitherTheEnvironmentNorTheUrls_WhichWouldOverrideTheUsers()
    {
        var profile = File.ReadAllText(Path.Combine(RepositoryFiles.FindRoot()!, "Functions.Local", "Properties", "launchSettings.json"));

        Assert.DoesNotContain("ASPNETCORE_ENVIRONMENT", profile);
        Assert.DoesNotContain("DOTNET_ENVIRONMENT", profile);
        Assert.DoesNotContain("ASPNETCORE_URLS", profile);
        Assert.DoesNotContain("applicationUrl", profile);
        Assert.Contains(LocalHost.DefaultEnvironmentVariable, profile);
    }

    [Fact]
    public async Task EmptyApiKeyAndEndpoint_MeanUnset_SoTheOfflineModelAnswers()
    {
        var environment = ProcessSettings.For(azurite, modelEndpoint: null, LocalHostProcess.FreePort());
        environment["OpenAI__ApiKey"] = "";
        environment["OpenAI__Endpoint"] = "";
        await using var host = LocalHostProcess.Start(environment);
        using var client = new HttpClient { BaseAddress = await host.WaitUntilListeningAsync() };

        var id = await SubmitAsync(client, caller: null);
        var job = await WaitForTerminalAsync(client, id);

        Assert.Contains(host.Output, line => line.Contains("Model: OFFLINE", StringComparison.Ordinal));
        Assert.Equal("Succeeded", job.GetProperty("status").GetString());
        Assert.StartsWith("[offline model]", job.GetProperty("result").GetProperty("content").GetString());
    }

    private static async Task<string> BannerAsync(LocalHostProcess host)
    {
        for (var i = 0; i < 100; i++)
        {
            if (host.Output.FirstOrDefault(line => line.Contains("Functions.Local is serving", StringComparison.Ordinal)) is { } banner)
            {
                return banner;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("No start-up banner:\n" + string.Join('\n', host.Output));
    }

    private static async Task<string> SubmitAsync(HttpClient client, string? caller)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(TestHost.UserMessage("hi")) };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private static Task<HttpResponseMessage> GetAsync(HttpClient client, string id, string? caller)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}");
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return client.SendAsync(request);
    }

    private static async Task<JsonElement> WaitForTerminalAsync(HttpClient client, string id)
    {
        for (var i = 0; i < 300; i++)
        {
            using var response = await GetAsync(client, id, caller: null);
            var job = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (job.GetProperty("status").GetString() is "Succeeded" or "Failed")
            {
                return job;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Job {id} did not finish.");
    }
}
