using System.Diagnostics.Tracing;

/// <summary>Counts the HTTP requests the Azure SDK sends (its "Azure-Core" event source): storage round trips.</summary>
internal sealed class StorageRoundTrips : EventListener
{
    private long count;

    public long Count => Interlocked.Read(ref count);

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Azure-Core")
        {
            EnableEvents(source, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs data)
    {
        // EventId 1: "Request [...]", written once per attempt the pipeline sends.
        if (data.EventId == 1)
        {
            Interlocked.Increment(ref count);
        }
    }
}
