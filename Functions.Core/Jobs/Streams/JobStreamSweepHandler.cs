using Functions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

/// <summary>
/// Job-stream rows older than <see cref="JobStreamOptions.Retention"/> removed by the sweep timer. A finished job
/// whose rows are gone still streams: its answer comes from the job's result.
/// </summary>
public sealed class JobStreamSweepHandler(JobStreamTable log, IOptions<JobStreamOptions> options, TimeProvider time,
    ILogger<JobStreamSweepHandler> logger) : ISweep
{
    public async Task HandleAsync(CancellationToken cancellationToken) =>
        JobStreamsLog.Swept(logger, await log.RemoveWrittenBeforeAsync(time.GetUtcNow() - options.Value.Retention, cancellationToken),
            options.Value.Retention);
}
