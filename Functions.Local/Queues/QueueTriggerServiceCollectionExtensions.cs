using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Functions.Local.Queues;

public static class QueueTriggerServiceCollectionExtensions
{
    /// <summary>
    /// Runs the <c>[QueueTrigger]</c> functions of <paramref name="functionTypes"/> on the WebJobs SDK, the engine the
    /// Functions host itself runs: its queue listener, polling back-off, batches, dequeue count, visibility timeout and
    /// poison queue, configured from host.json <c>extensions.queues</c> (read as <c>AzureFunctionsJobHost:extensions:queues</c>,
    /// see <see cref="FunctionsConfigurationFiles"/>) and connected with <c>AzureWebJobsStorage</c>, a connection string or
    /// identity-based <c>AzureWebJobsStorage__accountName</c>/<c>__queueServiceUri</c>, as the host reads it.
    /// <c>%Setting%</c> queue names resolve from configuration; the classes are activated from the app's services.
    /// </summary>
    public static IServiceCollection AddQueueTriggers(this IServiceCollection services, params Type[] functionTypes)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddWebJobs(_ => { }).AddAzureStorageQueues();
        services.Replace(ServiceDescriptor.Singleton<ITypeLocator>(new FunctionTypes(functionTypes)));
        services.AddSingleton<IHostedService, JobHostService>();
        services.AddHostedService<QueueTriggerDrain>();
        return services;
    }

    /// <summary>The classes the SDK indexes for functions (by default it scans every loaded assembly).</summary>
    public sealed class FunctionTypes(IReadOnlyList<Type> types) : ITypeLocator
    {
        public IReadOnlyList<Type> GetTypes() => types;
    }
}
