using Azure.Storage.Queues;

namespace Functions.Core.Jobs;

/// <summary>The queue that hands accepted jobs to the queue trigger.</summary>
public sealed class JobQueue(QueueClient queue)
{
    public QueueClient Client => queue;

    public Task EnqueueAsync(string jobId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(new JobMessage(jobId).Serialize(), cancellationToken);

    /// <summary>Sends the job back for a later attempt: the message stays invisible for <paramref name="delay"/>.</summary>
    public Task RequeueAsync(string jobId, int attempt, TimeSpan delay, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(new JobMessage(jobId, attempt).Serialize(), visibilityTimeout: delay, cancellationToken: cancellationToken);
}
