using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The table requests of one instance: entity-group transactions, single inserts and reads of reservation rows
/// counted, and the first write of an entity (or the next, once asked) held until released, so others queue behind it.
/// </summary>
public sealed class WatchedStorage(bool holdFirstWrite) : HttpPipelinePolicy
{
    private TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int hold = holdFirstWrite ? 1 : 0;
    private int transactions;
    private int inserts;
    private int reservationReads;
    private int loseReply;

    public int Transactions => Volatile.Read(ref transactions);

    public int Inserts => Volatile.Read(ref inserts);

    public int ReservationReads => Volatile.Read(ref reservationReads);

    public Task FirstWriteEntered => entered.Task;

    /// <summary>Holds the next write (call before it is made, then await <see cref="FirstWriteEntered"/>).</summary>
    public void HoldNextWrite()
    {
        entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref hold, 1);
    }

    public void ReleaseHeldWrite() => released.TrySetResult();

    /// <summary>The next transaction lands, but its reply is lost on the way back, so the client sends it again.</summary>
    public void LoseNextReply() => Volatile.Write(ref loseReply, 1);

    public TableServiceClient Client(string connectionString)
    {
        var options = new TableClientOptions();
        options.AddPolicy(this, HttpPipelinePosition.PerCall);
        options.AddPolicy(new ReplyLoser(this), HttpPipelinePosition.PerRetry);
        return new TableServiceClient(connectionString, options);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var uri = message.Request.Uri.ToString();
        var isWrite = message.Request.Method == RequestMethod.Post && !uri.Contains("/Tables", StringComparison.Ordinal);
        if (isWrite)
        {
            Interlocked.Increment(ref uri.Contains("$batch", StringComparison.Ordinal) ? ref transactions : ref inserts);
            if (Interlocked.Exchange(ref hold, 0) == 1)
            {
                var holding = released;
                entered.TrySetResult();
                await holding.Task;
            }
        }
        else if (message.Request.Method == RequestMethod.Get && uri.Contains("reservation", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref reservationReads);
        }
        await ProcessNextAsync(message, pipeline);
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        throw new NotSupportedException("The table client is used asynchronously.");

    /// <summary>Inside the client's retries: a transaction is sent and answered, then the answer is thrown away.</summary>
    private sealed class ReplyLoser(WatchedStorage owner) : HttpPipelinePolicy
    {
        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Request.Uri.ToString().Contains("$batch", StringComparison.Ordinal) && Interlocked.Exchange(ref owner.loseReply, 0) == 1)
            {
                throw new IOException("The reply was lost (a test's).");
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The table client is used asynchronously.");
    }
}
