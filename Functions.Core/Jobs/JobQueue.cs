using Azure.Storage.Queues;

namespace Functions.Core.Jobs;

/// <summary>The queue that hands accepted jobs to the queue trigger.</summary>
public sealed class JobQueue(QueueClient queue)
{
    public QueueClient Client => queue;

    public Task EnqueueAsync(string jobId, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(new JobMessage(jobId).Serialize(), cancellationToken);

    /// <summary>The same message again, invisible for <paramref name="delay"/>: a job that must wait, without spending an attempt.</summary>
    public Task RequeueAsync(string messageText, TimeSpan delay, CancellationToken cancellationToken) =>
        queue.SendMessageAsync(messageText, visibilityTimeout: delay, cancellationToken: cancellationToken);
}
