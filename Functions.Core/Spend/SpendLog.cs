using Microsoft.Extensions.Logging;

namespace Functions.Core.Spend;

internal static partial class SpendLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Warning,
        Message = "No price for model {Model}: priced at the fallback ${Input}/${CachedInput}/${Output} per 1M input/cached/output tokens. Add it to Pricing:Models")]
    public static partial void UnknownModel(ILogger logger, string model, decimal input, decimal cachedInput, decimal output);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "Job {JobId} attempt {Attempt} is already in the ledger")]
    public static partial void CallAlreadyRecorded(ILogger logger, string jobId, int attempt);

    [LoggerMessage(EventId = 602, Level = LogLevel.Information,
        Message = "Caller {CallerHash} refused: a worst case of {RequestMicros} micro-USD would exceed budget {Budget}")]
    public static partial void BudgetExceeded(ILogger logger, string callerHash, string budget, long requestMicros);

    [LoggerMessage(EventId = 603, Level = LogLevel.Debug, Message = "Budget window {Window} changed under us (round {Round}); retrying")]
    public static partial void CounterContention(ILogger logger, string window, int round);

    [LoggerMessage(EventId = 604, Level = LogLevel.Information,
        Message = "Spend rollup: {Days} days from {From} to {To}, {Entries} ledger entries; final through {ClosedThrough}")]
    public static partial void RolledUp(ILogger logger, int days, DateOnly from, DateOnly to, long entries, DateOnly closedThrough);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning,
        Message = "The budget reservation of job {JobId} could not be given back; it lapses with its window, until then the budget is only stricter")]
    public static partial void ReleaseLost(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "Spend rollup: another run moved the watermark first")]
    public static partial void WatermarkRace(ILogger logger);

    [LoggerMessage(EventId = 620, Level = LogLevel.Warning, Message = "A cache saving for caller {CallerHash} arrived after shutdown began; not recorded")]
    public static partial void SavingDropped(ILogger logger, string callerHash);

    [LoggerMessage(EventId = 621, Level = LogLevel.Error, Message = "{Count} cache savings could not be written to the ledger; storage kept failing")]
    public static partial void SavingsNotRecorded(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 607, Level = LogLevel.Warning,
        Message = "Budget allowance {Allowance} could not grow ahead of need; the next call that falls short grows it or reserves a row")]
    public static partial void AllowanceNotGrown(ILogger logger, string allowance, Exception exception);

    [LoggerMessage(EventId = 608, Level = LogLevel.Warning,
        Message = "Budget allowance {Allowance} could not give back {FreeMicros} micro-USD; it lapses with its window, until then the budget is only stricter")]
    public static partial void AllowanceNotTrimmed(ILogger logger, string allowance, long freeMicros, Exception exception);
}
