using Azure.Storage.Queues.Models;
using Functions.Core.Storage;
using Microsoft.Extensions.Options;

namespace Functions.Local.Queues;

public static class QueueTriggerServiceCollectionExtensions
{
    /// <summary>Runs <paramref name="function"/> for each message on a queue, as a <c>[QueueTrigger]</c> would in Azure.</summary>
    public static IServiceCollection AddQueueTrigger(this IServiceCollection services, string functionName,
        Func<IServiceProvider, string> queueName, Func<IServiceProvider, QueueMessage, CancellationToken, Task> function)
    {
        services.AddOptions<QueueTriggerOptions>().BindConfiguration(QueueTriggerOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IHostedService>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<QueueTriggerOptions>>().Value;
            var account = provider.GetRequiredService<StorageAccount>();
            var (queue, poison) = QueueListener.CreateClients(account.CreateQueueServiceClient, queueName(provider), options);
            return new QueueListener(functionName, queue, poison, options,
                (message, cancellationToken) => function(provider, message, cancellationToken),
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<QueueListener>>());
        });
        return services;
    }
}
