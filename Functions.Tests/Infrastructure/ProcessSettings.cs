namespace Functions.Tests.Infrastructure;

/// <summary>The environment of a <see cref="LocalHostProcess"/>: TestHost's settings, as app-setting variables.</summary>
public static class ProcessSettings
{
    /// <param name="modelEndpoint">Null leaves the model unconfigured (the host then starts its offline model).</param>
    public static Dictionary<string, string?> For(AzuriteFixture azurite, Uri? modelEndpoint, int port)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Storage__ChatQueue"] = AzuriteFixture.UniqueName("chat"),
            ["Storage__JobsTable"] = AzuriteFixture.UniqueName("jobs"),
            ["Storage__GateTable"] = AzuriteFixture.UniqueName("gate"),
            ["Cache__Table"] = AzuriteFixture.UniqueName("cache"),
            ["Spend__Table"] = AzuriteFixture.UniqueName("spend"),
            ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.200",
            ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:00",
            ["Resilience__BaseBackoff"] = "00:00:00.050",
            ["Resilience__MaxBackoff"] = "00:00:00.500",
        };
        if (modelEndpoint is not null)
        {
            settings["OpenAI__Endpoint"] = modelEndpoint.ToString();
            settings["OpenAI__ApiKey"] = "test-key";
        }
        return settings;
    }
}
