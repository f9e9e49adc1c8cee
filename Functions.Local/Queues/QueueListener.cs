using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Functions.Local.Queues;

/// <summary>
/// A queue trigger with the Azure Functions host's semantics: batches of <c>batchSize</c> fetched whenever no more
/// than <c>newBatchThreshold</c> run; a failed message becomes visible again after <c>visibilityTimeout</c>; after
/// <c>maxDequeueCount</c> attempts (or if it cannot be decoded) it moves to <c>&lt;queue&gt;-poison</c>; an empty queue is
/// polled with exponential back-off up to <c>maxPollingInterval</c>; the lease on a running message is renewed.
/// </summary>
public sealed class QueueListener(
    string functionName,
    QueueClient queue,
    QueueClient poisonQueue,
    QueueTriggerOptions options,
    Func<QueueMessage, CancellationToken, Task> function,
    TimeProvider time,
    ILogger<QueueListener> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Task> running = new();

    /// <summary>
    /// Cancelled only when the host's shutdown timeout runs out, not when polling stops: a function in the middle of a
    /// (paid) model call gets the grace period to finish and record it.
    /// </summary>
    private readonly CancellationTokenSource functionsAborted = new();

    /// <summary>
    /// The trigger's queue and its poison queue, in the host.json encoding. Like the host, a message that is not valid
    /// in that encoding goes straight to the poison queue (without this, the SDK skips it and it would reappear forever).
    /// </summary>
    public static (QueueClient Queue, QueueClient Poison) CreateClients(
        Func<QueueClientOptions, QueueServiceClient> service, string queueName, QueueTriggerOptions options)
    {
        var encoding = options.MessageEncoding.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? QueueMessageEncoding.None
            : QueueMessageEncoding.Base64;
        var poison = service(new QueueClientOptions { MessageEncoding = encoding }).GetQueueClient(queueName + "-poison");
        var queueOptions = new QueueClientOptions { MessageEncoding = encoding };
        queueOptions.MessageDecodingFailed += async args =>
        {
            if (args.ReceivedMessage is { } message)
            {
                await poison.SendMessageAsync(message.Body, cancellationToken: args.CancellationToken);
                await args.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, args.CancellationToken);
            }
        };
        return (service(queueOptions).GetQueueClient(queueName), poison);
    }
    private readonly SemaphoreSlim slotFreed = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.Zero;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (running.Count > options.EffectiveNewBatchThreshold)
                {
                    await slotFreed.WaitAsync(stoppingToken);
                    continue;
                }

                QueueMessage[] batch;
                try
                {
                    batch = (await queue.ReceiveMessagesAsync(options.BatchSize, QueueTriggerOptions.MessageLease, stoppingToken)).Value;
                }
                catch (RequestFailedException ex)
                {
                    QueueListenerLog.PollFailed(logger, functionName, queue.Name, ex.Status, ex.ErrorCode);
                    batch = [];
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Storage unreachable (Azure.Core throws AggregateException once its retries run out): back off and
                    // poll again, as the host does, rather than let the listener die.
                    QueueListenerLog.PollFailed(logger, functionName, queue.Name, 0, ex.GetType().Name);
                    batch = [];
                }

                if (batch.Length == 0)
                {
                    delay = delay == TimeSpan.Zero
                        ? QueueTriggerOptions.MinPollingInterval
                        : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxPollingInterval.Ticks));
                    await Task.Delay(delay, time, stoppingToken);
                    continue;
                }

                delay = TimeSpan.Zero;
                foreach (var message in batch)
                {
                    if (message.DequeueCount > options.MaxDequeueCount)
                    {
                        // Seen too often already (a worker died mid-attempt): the host poisons it without running it.
                        await TryMoveToPoisonAsync(message, message.PopReceipt);
                        continue;
                    }
                    running[message.MessageId] = RunAsync(message, functionsAborted.Token);
                }
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: a poll cut short mid-retry may surface as something other than a cancellation.
        }
        finally
        {
            // Messages still running when the host stops finish (or are released) before it exits.
            await Task.WhenAll(running.Values);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop polling at once; cancel the functions still running only when the host stops waiting for them.
        await using var abort = cancellationToken.Register(functionsAborted.Cancel);
        await base.StopAsync(cancellationToken);
    }

    private async Task RunAsync(QueueMessage message, CancellationToken functionToken)
    {
        await Task.Yield();
        var popReceipt = message.PopReceipt;
        using var renewal = CancellationTokenSource.CreateLinkedTokenSource(functionToken);
        var renewing = RenewLeaseAsync(message.MessageId, () => popReceipt, receipt => popReceipt = receipt, renewal.Token);
        try
        {
            Exception? failure = null;
            try
            {
                await function(message, functionToken);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            await renewal.CancelAsync();
            await renewing;

            if (failure is null)
            {
                await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
            }
            else if (message.DequeueCount >= options.MaxDequeueCount)
            {
                QueueListenerLog.Poisoned(logger, failure, functionName, message.MessageId, message.DequeueCount);
                await TryMoveToPoisonAsync(message, popReceipt);
            }
            else
            {
                QueueListenerLog.Failed(logger, failure, functionName, message.MessageId, message.DequeueCount);
                await queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: options.VisibilityTimeout,
                    cancellationToken: CancellationToken.None);
            }
        }
        catch (RequestFailedException ex)
        {
            // The lease was lost (or storage failed): the message reappears on its own and is tried again.
            QueueListenerLog.SettleFailed(logger, functionName, message.MessageId, ex.Status, ex.ErrorCode);
        }
        catch (Exception ex) when (ex is AggregateException or HttpRequestException)
        {
            QueueListenerLog.SettleFailed(logger, functionName, message.MessageId, 0, ex.GetType().Name);
        }
        finally
        {
            running.TryRemove(message.MessageId, out _);
            slotFreed.Release();
        }
    }

    private async Task RenewLeaseAsync(string messageId, Func<string> popReceipt, Action<string> updated, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(QueueTriggerOptions.MessageLease / 2, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var receipt = await queue.UpdateMessageAsync(messageId, popReceipt(), visibilityTimeout: QueueTriggerOptions.MessageLease,
                    cancellationToken: cancellationToken);
                updated(receipt.Value.PopReceipt);
            }
        }
        catch (OperationCanceledException)
        {
            // The function finished.
        }
        catch (RequestFailedException ex)
        {
            QueueListenerLog.SettleFailed(logger, functionName, messageId, ex.Status, ex.ErrorCode);
        }
    }

    /// <summary>Copy, then delete: a failure in between leaves the message to reappear (and be poisoned) again.</summary>
    private async Task TryMoveToPoisonAsync(QueueMessage message, string popReceipt)
    {
        try
        {
            await poisonQueue.SendMessageAsync(message.Body, cancellationToken: CancellationToken.None);
            await queue.DeleteMessageAsync(message.MessageId, popReceipt, CancellationToken.None);
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or HttpRequestException)
        {
            QueueListenerLog.SettleFailed(logger, functionName, message.MessageId, (ex as RequestFailedException)?.Status ?? 0, ex.GetType().Name);
        }
    }

    public override void Dispose()
    {
        slotFreed.Dispose();
        functionsAborted.Dispose();
        base.Dispose();
    }
}

internal static partial class QueueListenerLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning,
        Message = "{Function}: message {MessageId} failed on attempt {DequeueCount}; it will be retried")]
    public static partial void Failed(ILogger logger, Exception exception, string function, string messageId, long dequeueCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error,
        Message = "{Function}: message {MessageId} failed on attempt {DequeueCount}, the last; moved to the poison queue")]
    public static partial void Poisoned(ILogger logger, Exception exception, string function, string messageId, long dequeueCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{Function}: polling {Queue} failed ({Status} {Error}); backing off")]
    public static partial void PollFailed(ILogger logger, string function, string queue, int status, string? error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "{Function}: could not settle message {MessageId} ({Status} {Error}); it will reappear")]
    public static partial void SettleFailed(ILogger logger, string function, string messageId, int status, string? error);
}
