namespace Functions.Core.Storage;

/// <summary>Rows one feature removes once they have outlived their use (expired cache answers, old job-stream rows).</summary>
public interface ISweep
{
    Task HandleAsync(CancellationToken cancellationToken);
}

/// <summary>The sweep timer's work (<c>SweepCache</c>, on <c>Cache:SweepSchedule</c>): every feature's sweep, in turn.</summary>
public sealed class SweepHandler(IEnumerable<ISweep> sweeps)
{
    public async Task HandleAsync(CancellationToken cancellationToken)
    {
        foreach (var sweep in sweeps)
        {
            await sweep.HandleAsync(cancellationToken);
        }
    }
}
