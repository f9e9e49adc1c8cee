using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Functions.Core.Storage;

/// <summary>
/// Group commit for Table Storage: the changes of one partition that arrive while a write of it is in flight go
/// together in its next entity-group transaction, so a busy instance writes a hot partition once per batch instead of
/// once per request, and requests stop queueing one by one behind it. The first change to arrive commits; when its
/// batch is written it hands the turn to the oldest change still waiting, so nobody commits for others once their own
/// change is done, and no background task is needed. A batch holds at most <paramref name="maxBatch"/> changes and at
/// most one per row (<paramref name="rowOf"/>), as a transaction writes each row once.
/// </summary>
/// <param name="commit">Writes one batch of a partition and tells each change's outcome, in order; an exception fails the whole batch.</param>
public sealed class GroupCommit<TChange, TOutcome>(
    int maxBatch,
    Func<TChange, string> rowOf,
    Func<IReadOnlyList<TChange>, Task<IReadOnlyList<TOutcome>>> commit)
{
    private readonly ConcurrentDictionary<string, PartitionQueue> partitions = new(StringComparer.Ordinal);

    public async Task<TOutcome> CommitAsync(string partition, TChange change)
    {
        var queue = partitions.GetOrAdd(partition, _ => new PartitionQueue());
        var pending = new Pending(change);
        bool leads;
        lock (queue)
        {
            queue.Waiting.Add(pending);
            leads = !queue.Committing;
            queue.Committing = true;
        }
        if (leads || await pending.Turn.Task)
        {
            try
            {
                while (!pending.Done)
                {
                    await CommitBatchAsync(queue.Take(maxBatch, rowOf));
                }
            }
            finally
            {
                queue.HandOver();
            }
        }
        return pending.Outcome();
    }

    /// <summary>How many changes of <paramref name="partition"/> wait for a transaction (for tests).</summary>
    internal int Waiting(string partition)
    {
        if (!partitions.TryGetValue(partition, out var queue))
        {
            return 0;
        }
        lock (queue)
        {
            return queue.Waiting.Count;
        }
    }

    private async Task CommitBatchAsync(List<Pending> batch)
    {
        try
        {
            var outcomes = await commit([.. batch.Select(pending => pending.Change)]);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Succeed(outcomes[i]);
            }
        }
        catch (Exception ex)
        {
            var failure = ExceptionDispatchInfo.Capture(ex);
            foreach (var pending in batch)
            {
                pending.Fail(failure);
            }
        }
    }

    /// <summary>The changes of one partition waiting for its next transaction, and whether one of them is committing.</summary>
    private sealed class PartitionQueue
    {
        public List<Pending> Waiting { get; } = [];

        public bool Committing { get; set; }

        /// <summary>The oldest waiting changes, up to <paramref name="max"/>, one per row.</summary>
        public List<Pending> Take(int max, Func<TChange, string> rowOf)
        {
            lock (this)
            {
                var batch = new List<Pending>();
                var rows = new HashSet<string>(StringComparer.Ordinal);
                foreach (var pending in Waiting)
                {
                    if (batch.Count < max && rows.Add(rowOf(pending.Change)))
                    {
                        batch.Add(pending);
                    }
                }
                Waiting.RemoveAll(batch.Contains);
                return batch;
            }
        }

        /// <summary>Passes the turn to commit to the oldest waiting change, or ends it.</summary>
        public void HandOver()
        {
            lock (this)
            {
                if (Waiting.Count > 0)
                {
                    Waiting[0].Turn.TrySetResult(true);
                }
                else
                {
                    Committing = false;
                }
            }
        }
    }

    /// <summary>
    /// A change waiting for its transaction. <see cref="Turn"/> completes true when it is this change's turn to commit
    /// (it is then the oldest waiting), or false once another's batch wrote it.
    /// </summary>
    private sealed class Pending(TChange change)
    {
        private TOutcome? outcome;
        private ExceptionDispatchInfo? failure;
        private volatile bool done;

        public TChange Change { get; } = change;

        public TaskCompletionSource<bool> Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Written or failed: <see cref="Outcome"/> is known.</summary>
        public bool Done => done;

        public void Succeed(TOutcome result)
        {
            outcome = result;
            done = true;
            Turn.TrySetResult(false);
        }

        public void Fail(ExceptionDispatchInfo exception)
        {
            failure = exception;
            done = true;
            Turn.TrySetResult(false);
        }

        public TOutcome Outcome()
        {
            failure?.Throw();
            return outcome!;
        }
    }
}
