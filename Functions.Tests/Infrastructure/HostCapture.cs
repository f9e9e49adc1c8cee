using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// Takes hold of a host an entry point builds, as WebApplicationFactory does for minimal hosting: it listens to the
/// hosting diagnostics, adds the test's configuration and services when the host is being built (after the app's own,
/// so they win, as WebApplicationFactory's ConfigureTestServices do), and by default stops the entry point right after
/// the host is built, before it runs. Only hosts built on the flow of work that created the capture are touched, so
/// tests building other hosts in parallel are left alone.
/// </summary>
public sealed class HostCapture : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private static readonly AsyncLocal<HostCapture?> Current = new();
    private readonly Action<IHostBuilder> configure;
    private readonly bool stopWhenBuilt;
    private readonly List<IDisposable> subscriptions = [];

    /// <param name="stopWhenBuilt">False to let the code that builds the host go on and run it.</param>
    public HostCapture(Action<IHostBuilder> configure, bool stopWhenBuilt = true)
    {
        this.configure = configure;
        this.stopWhenBuilt = stopWhenBuilt;
        Current.Value = this;
        subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
    }

    /// <summary>The host, once the entry point built it.</summary>
    public IHost? Host { get; private set; }

    /// <summary>Runs <paramref name="entryPoint"/>'s Main until it has built its host, and returns that host (not started).</summary>
    public static IHost Build(System.Reflection.MethodInfo entryPoint, string[] args, Action<IHostBuilder> configure)
    {
        using var capture = new HostCapture(configure);
        try
        {
            entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args]);
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is HostAbortedException && capture.Host is not null)
        {
            // Thrown by OnNext below once the host was built: the entry point never runs it.
        }
        return capture.Host ?? throw new InvalidOperationException($"{entryPoint.DeclaringType?.Assembly.GetName().Name} returned without building a host.");
    }

    public void OnNext(DiagnosticListener listener)
    {
        if (listener.Name == "Microsoft.Extensions.Hosting")
        {
            lock (subscriptions)
            {
                subscriptions.Add(listener.Subscribe(this));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (Current.Value != this || Host is not null)
        {
            return;
        }
        if (value is { Key: "HostBuilding", Value: IHostBuilder builder })
        {
            configure(builder);
        }
        else if (value is { Key: "HostBuilt", Value: IHost host })
        {
            Host = host;
            if (stopWhenBuilt)
            {
                throw new HostAbortedException();
            }
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        Current.Value = null;
        lock (subscriptions)
        {
            subscriptions.ForEach(subscription => subscription.Dispose());
        }
    }
}
