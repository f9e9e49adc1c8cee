using Azure;
using Azure.Data.Tables;
using Functions.Core.Callers;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Core.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;

namespace Functions.Tests.Jobs;

public sealed class GetChatHandlerTests
{
    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    public async Task StorageUnavailable_Is503Problem_NotA500(int storageStatus)
    {
        var table = new Mock<TableClient>();
        table.Setup(t => t.GetEntityIfExistsAsync<TableEntity>(It.IsAny<string>(), It.IsAny<string>(), null, It.IsAny<CancellationToken>()))
            .ThrowsAsync(new RequestFailedException(storageStatus, "storage down"));
        var handler = new GetChatHandler(new CallerResolver(Options.Create(new CallerOptions())), new JobTable(table.Object),
            Streams.TestStreamTokens.Create(),
            new PriceTable(Options.Create(new PricingOptions()), new TokenCounter(), NullLogger<PriceTable>.Instance),
            new BudgetHeadrooms(new BudgetCounterCache(TimeProvider.System), NoAllowances(), Options.Create(new BudgetOptions())), TimeProvider.System);

        var result = await handler.HandleAsync(new DefaultHttpContext().Request, Guid.CreateVersion7().ToString("N"), CancellationToken.None);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, Assert.IsType<ProblemHttpResult>(result).StatusCode);
    }

    private static BudgetAllowances NoAllowances() => new(
        new BudgetCommits(new BudgetStore(new SpendTable(Mock.Of<TableClient>(MockBehavior.Strict))), new BudgetCounterCache(TimeProvider.System),
            new BudgetReceipts(), NullLogger<BudgetCommits>.Instance),
        Options.Create(new BudgetOptions()), TimeProvider.System, NullLogger<BudgetAllowances>.Instance);
}
