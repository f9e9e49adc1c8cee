using System.Net.Http.Json;
using System.Text.Json;
using Functions.Core.Callers;
using Functions.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Functions.Tests.Infrastructure;

/// <summary>The real local host (Kestrel, queue listeners, Core) on a free port, against Azurite and a model endpoint.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private TestHost(WebApplication app, string chatQueue, string jobsTable)
    {
        App = app;
        ChatQueue = chatQueue;
        JobsTable = jobsTable;
        Client = new HttpClient { BaseAddress = new Uri(LocalHost.ListeningUrl(app)) };
    }

    public WebApplication App { get; }
    public HttpClient Client { get; }
    public string ChatQueue { get; }
    public string JobsTable { get; }

    /// <param name="settings">Override any setting, including the per-test names (to share a queue between hosts).</param>
    /// <param name="configure">Runs after the test settings are added and before Core registers its services, so a
    /// test may add logging providers or substitute a service Core adds with TryAdd (a SecretClient, an IChatModel).</param>
    public static async Task<TestHost> StartAsync(AzuriteFixture azurite, Uri modelEndpoint,
        IReadOnlyDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var chatQueue = AzuriteFixture.UniqueName("chat");
        var jobsTable = AzuriteFixture.UniqueName("jobs");
        var all = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["OpenAI:Endpoint"] = modelEndpoint.ToString(),
            ["OpenAI:ApiKey"] = "test-key",
            ["OpenAI:NetworkTimeout"] = "00:00:10",
            ["Storage:ChatQueue"] = chatQueue,
            ["Storage:JobsTable"] = jobsTable,
            ["Cache:Table"] = AzuriteFixture.UniqueName("cache"),
            ["Cache:SavingsFlushInterval"] = "00:00:00.050",
            ["Spend:Table"] = AzuriteFixture.UniqueName("spend"),
            ["Callers:TrustPrincipalHeader"] = "true",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:00",
            ["Storage:GateTable"] = AzuriteFixture.UniqueName("gate"),
            ["Resilience:BaseBackoff"] = "00:00:00.050",
            ["Resilience:MaxBackoff"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = await LocalHost.BuildAsync([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(all);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(builder);
        }, loadLocalSettings: false);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new TestHost(app, all["Storage:ChatQueue"]!, all["Storage:JobsTable"]!);
    }

    public Task<HttpResponseMessage> SubmitAsync(object body, string? caller = null, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(body) };
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> GetAsync(string id, string? caller = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/{id}");
        if (caller is not null)
        {
            request.Headers.Add(CallerResolver.PrincipalIdHeader, caller);
        }
        return Client.SendAsync(request);
    }

    /// <summary>Submits and returns the job id from the 202.</summary>
    public async Task<string> SubmitAcceptedAsync(object body, string? caller = null, string? idempotencyKey = null)
    {
        using var response = await SubmitAsync(body, caller, idempotencyKey);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        return accepted.GetProperty("id").GetString()!;
    }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>The job as the status URL shows it now.</summary>
    public async Task<JsonElement> GetJobAsync(string id, string? caller = null)
    {
        using var response = await GetAsync(id, caller);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Polls the status URL until the job is Succeeded or Failed.</summary>
    public async Task<JsonElement> WaitForTerminalAsync(string id, string? caller = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await GetAsync(id, caller);
            response.EnsureSuccessStatusCode();
            var job = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (job.GetProperty("status").GetString() is "Succeeded" or "Failed")
            {
                return job;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Job {id} is still {job.GetProperty("status")} after the timeout.");
            }
            await Task.Delay(50);
        }
    }

    public static object UserMessage(string content) =>
        new { messages = new[] { new { role = "user", content } } };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
