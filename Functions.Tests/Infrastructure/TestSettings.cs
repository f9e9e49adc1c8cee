namespace Functions.Tests.Infrastructure;

/// <summary>
/// The settings every test host starts from, whichever host it is: Azurite, the loopback model, names unique to the
/// host (so tests never share a queue or table unless they pass the same names), and short back-offs and polling.
/// </summary>
public static class TestSettings
{
    public static Dictionary<string, string?> For(AzuriteFixture azurite, Uri modelEndpoint,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["OpenAI:Endpoint"] = modelEndpoint.ToString(),
            ["OpenAI:ApiKey"] = "test-key",
            ["OpenAI:NetworkTimeout"] = "00:00:10",
            ["Storage:ChatQueue"] = AzuriteFixture.UniqueName("chat"),
            ["Storage:JobsTable"] = AzuriteFixture.UniqueName("jobs"),
            ["Cache:Table"] = AzuriteFixture.UniqueName("cache"),
            ["Cache:SavingsFlushInterval"] = "00:00:00.050",
            ["Spend:Table"] = AzuriteFixture.UniqueName("spend"),
            ["RateLimits:Table"] = AzuriteFixture.UniqueName("rates"),
            ["Conversations:Table"] = AzuriteFixture.UniqueName("conv"),
            ["Conversations:SummaryQueue"] = AzuriteFixture.UniqueName("summaries"),
            ["Callers:TrustPrincipalHeader"] = "true",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            ["Storage:GateTable"] = AzuriteFixture.UniqueName("gate"),
            ["Resilience:BaseBackoff"] = "00:00:00.050",
            ["Resilience:MaxBackoff"] = "00:00:00.500",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        return all;
    }
}
