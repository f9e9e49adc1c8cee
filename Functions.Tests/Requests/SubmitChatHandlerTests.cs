using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Functions.Core.Cache;
using Functions.Core.Callers;
using Functions.Core.Completions;
using Functions.Core.Http;
using Functions.Core.Jobs;
using Functions.Core.RateLimits;
using Functions.Core.Requests;
using Functions.Core.Spend;
using Functions.Core.Tokens;
using Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Functions.Core.Conversations;
using Moq;

namespace Functions.Tests.Requests;

/// <summary>Storage failing under a valid request: 503, nothing half-accepted.</summary>
public sealed class SubmitChatHandlerTests
{
    private readonly Mock<TableClient> table = new();
    private readonly Mock<QueueClient> queue = new();
    private static readonly PriceTable Prices = new(Options.Create(new PricingOptions()), new TokenCounter(), NullLogger<PriceTable>.Instance);

    private static readonly BudgetCommits Commits = new(new BudgetStore(new SpendTable(Mock.Of<TableClient>(MockBehavior.Strict))),
        new BudgetCounterCache(TimeProvider.System), new BudgetReceipts(), NullLogger<BudgetCommits>.Instance);

    private static readonly BudgetAllowances Allowances = new(Commits, Options.Create(new BudgetOptions()), TimeProvider.System,
        NullLogger<BudgetAllowances>.Instance);

    // The request below is not cacheable (no temperature 0, no max-age), so the cache table is never touched.
    private SubmitChatHandler Handler() => new(
        new CallerResolver(Options.Create(new CallerOptions())),
        new ChatRequestReader(Options.Create(new RequestLimitsOptions()), Options.Create(new OpenAIOptions { ApiKey = "k" })),
        new CacheLookup(new CacheEntries(new CacheTable(Mock.Of<TableClient>(MockBehavior.Strict), TimeProvider.System),
                Options.Create(new CacheOptions()), TimeProvider.System), new JobTable(table.Object),
            Mock.Of<ICacheSavingsRecorder>(MockBehavior.Strict), Prices, Options.Create(new CacheOptions()), TimeProvider.System,
            NullLogger<CacheLookup>.Instance),
        // No rate limit and no budget is configured, so neither writes anything.
        new CallerRateLimiter(new RateLimitStore(Mock.Of<TableClient>(MockBehavior.Strict)), new WorstCaseTokens(new TokenCounter(), Options.Create(new RequestLimitsOptions())),
            Options.Create(new RateLimitOptions()), Options.Create(new CallerOptions()), TimeProvider.System, NullLogger<CallerRateLimiter>.Instance),
        new WorstCaseTokens(new TokenCounter(), Options.Create(new RequestLimitsOptions())),
        new BudgetReservations(new BudgetStore(new SpendTable(Mock.Of<TableClient>(MockBehavior.Strict))), Commits, new BudgetReceipts(),
            Allowances, Prices, Options.Create(new BudgetOptions()), Options.Create(new RequestLimitsOptions()), NullLogger<BudgetReservations>.Instance),
        new BudgetHeadrooms(new BudgetCounterCache(TimeProvider.System), Allowances, Options.Create(new BudgetOptions())),
        new JobTable(table.Object),
        new JobQueue(queue.Object),
        Jobs.Streams.TestStreamTokens.Create(),
        // Not a conversation turn: the conversations table and queue are never touched.
        new ConversationTurns(new ConversationTable(Mock.Of<TableClient>(MockBehavior.Strict)), new JobTable(table.Object), new TokenCounter(),
            new SummaryQueue(Mock.Of<QueueClient>(MockBehavior.Strict)), Options.Create(new ConversationsOptions()),
            Options.Create(new Core.Resilience.ResilienceOptions()), Options.Create(new Core.Completions.OpenAIOptions()), TimeProvider.System, NullLogger<ConversationTurns>.Instance),
        new Core.Routing.ModelRouter(Options.Create(new Core.Routing.RoutingOptions()), new TokenCounter()),
        TimeProvider.System,
        NullLogger<SubmitChatHandler>.Instance);

    private static HttpRequest ValidRequest(string? idempotencyKey = null)
    {
        var request = new DefaultHttpContext().Request;
        if (idempotencyKey is not null)
        {
            request.Headers[SubmitChatHandler.IdempotencyKeyHeader] = idempotencyKey;
        }
        request.ContentType = "application/json";
        request.Body = new MemoryStream(Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"hi"}]}"""));
        return request;
    }

    [Fact]
    public async Task JobTableUnavailable_Is503_AndNothingIsQueued()
    {
        table.Setup(t => t.AddEntityAsync(It.IsAny<TableEntity>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(503, "Server busy"));

        var result = await Handler().HandleAsync(ValidRequest(), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsType<ProblemHttpResult>(result).StatusCode);
        queue.Verify(q => q.SendMessageAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task AfterA503_RetryingWithTheSameIdempotencyKey_QueuesTheSameJob()
    {
        TableEntity? stored = null;
        table.Setup(t => t.AddEntityAsync(It.IsAny<TableEntity>(), It.IsAny<CancellationToken>()))
            .Callback((TableEntity entity, CancellationToken _) => stored = entity)
            .ReturnsAsync(new StorageResponse());
        table.Setup(t => t.DeleteEntityAsync(It.IsAny<string>(), "job", It.IsAny<ETag>(), It.IsAny<CancellationToken>()))
            .Callback(() => stored = null)
            .ReturnsAsync(new StorageResponse());
        table.Setup(t => t.GetEntityIfExistsAsync<TableEntity>(It.IsAny<string>(), "job", null, It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => stored is null
                ? Mock.Of<NullableResponse<TableEntity>>(response => !response.HasValue)
                : Response.FromValue(stored, new StorageResponse()));
        queue.SetupSequence(q => q.SendMessageAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(500, "Queue down"))
            .ReturnsAsync(Response.FromValue(QueuesModelFactory.SendReceipt("m", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "r", DateTimeOffset.UtcNow),
                new StorageResponse()));

        var first = await Handler().HandleAsync(ValidRequest("order-7"), CancellationToken.None);
        var retry = await Handler().HandleAsync(ValidRequest("order-7"), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsType<ProblemHttpResult>(first).StatusCode);
        var accepted = Assert.IsType<WithHeadersResult>(retry).Inner;
        Assert.Equal("Queued", Assert.IsType<Accepted<AcceptedJobView>>(accepted).Value!.Status);
        Assert.Equal("Queued", stored!.GetString("Status"));
        queue.Verify(q => q.SendMessageAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
    }

    [Fact]
    public async Task QueueUnavailable_Is503_AndTheUnqueuedJobRowIsRemoved_NotLeftQueued()
    {
        string? added = null;
        string? deleted = null;
        table.Setup(t => t.AddEntityAsync(It.IsAny<TableEntity>(), It.IsAny<CancellationToken>()))
            .Callback((TableEntity entity, CancellationToken _) => added = entity.PartitionKey)
            .ReturnsAsync(new StorageResponse());
        table.Setup(t => t.DeleteEntityAsync(It.IsAny<string>(), "job", It.IsAny<ETag>(), It.IsAny<CancellationToken>()))
            .Callback((string partitionKey, string _, ETag _, CancellationToken _) => deleted = partitionKey)
            .ReturnsAsync(new StorageResponse());
        queue.Setup(q => q.SendMessageAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(500, "Queue down"));

        var result = await Handler().HandleAsync(ValidRequest(), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsType<ProblemHttpResult>(result).StatusCode);
        Assert.NotNull(added);
        Assert.Equal(added, deleted);
    }
}
