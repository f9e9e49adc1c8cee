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

    /// <summary>
    /// Builds the local host as its Program does (<see cref="LocalHost.CreateBuilder"/>, then <see cref="LocalHost.BuildAsync"/>),
    /// in the Testing environment (no developer's local.settings.json), with the test's settings added last so they win
    /// over every file, on a free port, and starts it.
    /// </summary>
    /// <param name="settings">Override any setting, including the per-test names (to share a queue between hosts).</param>
    /// <param name="configure">Runs after the test settings are added and before Core registers its services, so a
    /// test may add logging providers or substitute a service Core adds with TryAdd (a SecretClient, an IChatModel).</param>
    public static async Task<TestHost> StartAsync(AzuriteFixture azurite, Uri modelEndpoint,
        IReadOnlyDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var all = TestSettings.For(azurite, modelEndpoint, settings);
        var builder = LocalHost.CreateBuilder(["--environment", EnvironmentName]);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(all);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure?.Invoke(builder);

        var app = await LocalHost.BuildAsync(builder);
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

    /// <summary>Neither Development (which reads local.settings.json) nor Production.</summary>
    public const string EnvironmentName = "Testing";

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

    private int disposed;

    /// <summary>Stops the host (letting running functions finish) and frees it; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
