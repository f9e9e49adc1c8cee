// The spend rollup over one day of 100,000 ledger rows (500 callers × 4 models), against Azurite.
// Usage: dotnet run -c Release --project benchmarks/Spend.Benchmarks [rows]
using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Functions.Core.Tokens;
using Functions.Local.Development;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
const int batchSize = 100;
const int parallelBatches = 8;
var day = new DateOnly(2026, 3, 10);
var clock = new FixedClock(new DateTimeOffset(2026, 3, 10, 23, 0, 0, TimeSpan.Zero)); // the day is still open: every run re-rolls it

Console.WriteLine($"Starting Azurite (in memory) ...");
await using var azurite = await AzuriteProcess.StartAsync(0, 0, 0, null);
var client = new TableServiceClient(azurite.ConnectionString).GetTableClient("spendbenchmark");
await client.CreateIfNotExistsAsync();

var table = new SpendTable(client);
var prices = new PriceTable(Options.Create(new PricingOptions()), new TokenCounter(), NullLogger<PriceTable>.Instance);
var ledger = new SpendLedger(table, prices, clock, NullLogger<SpendLedger>.Instance);
var rollup = new SpendRollup(ledger, new SpendRollups(table), clock, NullLogger<SpendRollup>.Instance);

// Load: transactions of 100 rows in the day's partition, a few in flight at once.
string[] models = ["gpt-4.1-mini-2025-04-14", "gpt-4.1-nano-2025-04-14", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14"];
var expectedCost = 0L;
var batches = Enumerable.Range(0, (rows + batchSize - 1) / batchSize).Select(batch =>
    Enumerable.Range(batch * batchSize, Math.Min(batchSize, rows - batch * batchSize)).Select(i =>
    {
        var model = models[i % models.Length];
        var usage = new TokenUsage(200 + i % 1800, i % 3 == 0 ? 128 : 0, 50 + i % 700);
        var cost = prices.Cost(model, usage, clock.GetUtcNow()).Micros;
        Interlocked.Add(ref expectedCost, cost);
        var entry = new LedgerEntry(LedgerEntry.Call, $"caller-{i % 500}", model, model, usage, cost, clock.GetUtcNow());
        return new TableTransactionAction(TableTransactionActionType.Add,
            SpendLedger.ToEntity(SpendKeys.Ledger(day), $"call|{i:D32}|001", entry));
    }).ToList()).ToList();

var load = Stopwatch.StartNew();
await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = parallelBatches },
    async (batch, cancellationToken) => await client.SubmitTransactionAsync(batch, cancellationToken));
load.Stop();
Console.WriteLine($"Loaded {rows:N0} ledger rows in {batches.Count:N0} transactions of {batchSize}: {load.Elapsed.TotalSeconds:F1} s " +
                  $"({rows / load.Elapsed.TotalSeconds:N0} rows/s)");

var timings = new List<double>();
for (var run = 1; run <= 3; run++)
{
    var watch = Stopwatch.StartNew();
    var result = await rollup.RunAsync(CancellationToken.None);
    watch.Stop();
    timings.Add(watch.Elapsed.TotalSeconds);
    var total = (await new SpendRollups(table).ReadAsync(day, day, CancellationToken.None)).Single(row => row.IsDayTotal).Totals;
    Console.WriteLine($"Rollup run {run}: {result.EntriesRead:N0} entries over {result.DaysRolled} day(s) in {watch.Elapsed.TotalSeconds:F2} s " +
                      $"({result.EntriesRead / watch.Elapsed.TotalSeconds:N0} entries/s); day total {Money.Format(total.CostMicros)}, " +
                      $"{(total.CostMicros == expectedCost ? "equal to" : "DIFFERENT FROM")} the ledger's sum");
}
Console.WriteLine($"Median rollup of {rows:N0} rows: {timings.Order().ElementAt(timings.Count / 2):F2} s");

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
