using System.Diagnostics.Metrics;

/// <summary>
/// Counts the HTTP requests this process sends to Azurite's ports: storage round trips. It listens to .NET's own
/// <c>http.client.request.duration</c> metric, one measurement per request, which costs next to nothing; the Azure
/// SDK's event source would format every request's headers and slow the backend it measures.
/// </summary>
internal sealed class StorageRoundTrips : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly HashSet<int> ports;
    private long count;

    public StorageRoundTrips(params int[] storagePorts)
    {
        ports = [.. storagePorts];
        listener.InstrumentPublished = (instrument, meters) =>
        {
            if (instrument.Meter.Name == "System.Net.Http" && instrument.Name == "http.client.request.duration")
            {
                meters.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "server.port" && tag.Value is int port && ports.Contains(port))
                {
                    Interlocked.Increment(ref count);
                    return;
                }
            }
        });
        listener.Start();
    }

    public long Count => Interlocked.Read(ref count);

    public void Dispose() => listener.Dispose();
}
