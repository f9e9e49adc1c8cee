using Functions.Tests.Infrastructure;

namespace Functions.Tests.Routing;

/// <summary>Bad routes and endpoints stop Functions.Local at start-up, its console naming the setting.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RoutingStartupTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private FakeOpenAIServer model = null!;

    public async Task InitializeAsync() => model = await FakeOpenAIServer.StartAsync();

    public async Task DisposeAsync() => await model.DisposeAsync();

    public static TheoryData<string, string[], string> BadSettings => new()
    {
        {
            "unknown model",
            ["Routing__Routes__0__Name=support", "Routing__Routes__0__Models__0=gpt-9-imaginary"],
            "Routing__Routes__0__Models__0 'gpt-9-imaginary' is not a known model"
        },
        {
            "cycle",
            [
                "Routing__Routes__0__Name=a", "Routing__Routes__0__Models__0=gpt-4.1-mini", "Routing__Routes__0__Rules__0__Route=b",
                "Routing__Routes__1__Name=b", "Routing__Routes__1__Models__0=gpt-4.1-mini", "Routing__Routes__1__Rules__0__Route=a",
            ],
            "Routing__Routes__0__Rules__0__Route 'b' makes a cycle: a → b → a"
        },
        {
            "default route unknown",
            ["Routing__DefaultRoute=nowhere"],
            "Routing__DefaultRoute 'nowhere' names no route"
        },
        {
            "endpoint without key",
            ["OpenAI__Endpoints__0__Name=azure", "OpenAI__Endpoints__0__Url=https://example.openai.azure.com/openai/v1/"],
            "OpenAI__Endpoints__0__ApiKey (or OpenAI__Endpoints__0__KeyVaultSecret"
        },
        {
            "model on an unknown endpoint",
            ["OpenAI__Models__0__Name=gpt-4.1-mini", "OpenAI__Models__0__Endpoint=nowhere"],
            "OpenAI__Models__0__Endpoint 'nowhere' names no endpoint"
        },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task BadRouteOrEndpoint_StopsTheHost_NamingTheSetting(string reason, string[] settings, string expected)
    {
        _ = reason;
        var environment = ProcessSettings.For(azurite, model.BaseUrl, LocalHostProcess.FreePort());
        foreach (var setting in settings)
        {
            var (name, value) = (setting[..setting.IndexOf('=')], setting[(setting.IndexOf('=') + 1)..]);
            environment[name] = value;
        }
        await using var host = LocalHostProcess.Start(environment);

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains(host.Output, line => line.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(host.Output, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }
}
