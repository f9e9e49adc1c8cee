using Microsoft.Azure.WebJobs.Host;
using Microsoft.Azure.WebJobs.Host.Executors;

namespace Functions.Local.Queues;

/// <summary>
/// Shuts the queue triggers down as the Functions host does: drain mode first (the SDK stops its listeners, so no new
/// message is taken), then the host waits for the running invocations to return, uncancelled, before the job host
/// stops and cancels what is left; bounded by the host's shutdown timeout. Without it the job host stops at once and a
/// paid model call in flight is cut off. A function that returns in time has its
/// message deleted or retried as usual; one cut off by the timeout leaves its message to reappear.
/// Registered after the job host, so it stops before it.
/// </summary>
public sealed partial class QueueTriggerDrain(
    IDrainModeManager drainMode,
    IFunctionActivityStatusProvider activity,
    TimeProvider time,
    ILogger<QueueTriggerDrain> logger) : IHostedService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(20);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await drainMode.EnableDrainModeAsync(cancellationToken);
        try
        {
            while (activity.GetStatus().OutstandingInvocations > 0)
            {
                await Task.Delay(CheckEvery, time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            Abandoned(logger, activity.GetStatus().OutstandingInvocations);
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning,
        Message = "Shutdown timeout reached with {Running} queue-triggered functions still running; their messages will reappear")]
    private static partial void Abandoned(ILogger logger, int running);
}
