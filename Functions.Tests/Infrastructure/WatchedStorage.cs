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

    public TableServiceClient Client(string connectionString)
    {
        var options = new TableClientOptions();
        options.AddPolicy(this, HttpPipelinePosition.PerCall);
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
}
