using Azure.Storage.Queues;

namespace Functions.Core.Jobs;

/// <summary>The queue that hands accepted jobs to the queue trigger; each message carries the sender's trace context.</summary>
public sealed class JobQueue(QueueClient queue, TimeProvider? time = null)
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    public QueueClient Client => queue;

    public Task EnqueueAsync(string jobId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(JobMessage.InCurrentTrace(jobId, 0, clock.GetUtcNow()).Serialize(), cancellationToken);

    /// <summary>Sends the job back for a later attempt: the message stays invisible for <paramref name="delay"/>.</summary>
    public Task RequeueAsync(string jobId, int attempt, TimeSpan delay, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(JobMessage.InCurrentTrace(jobId, attempt, clock.GetUtcNow() + delay).Serialize(),
            visibilityTimeout: delay, cancellationToken: cancellationToken);
}
