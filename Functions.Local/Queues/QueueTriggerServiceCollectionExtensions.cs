using Azure.Storage.Queues;
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
            var name = queueName(provider);
            var encoding = options.MessageEncoding.Equals("none", StringComparison.OrdinalIgnoreCase)
                ? QueueMessageEncoding.None
                : QueueMessageEncoding.Base64;

            var poison = account.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = encoding })
                .GetQueueClient(name + "-poison");
            var clientOptions = new QueueClientOptions { MessageEncoding = encoding };
            // Like the host: a message that is not valid in the configured encoding goes straight to the poison queue.
            clientOptions.MessageDecodingFailed += async args =>
            {
                if (args.ReceivedMessage is { } message)
                {
                    await poison.SendMessageAsync(message.Body, cancellationToken: args.CancellationToken);
                    await args.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, args.CancellationToken);
                }
            };
            var queue = account.CreateQueueServiceClient(clientOptions).GetQueueClient(name);

            return new QueueListener(functionName, queue, poison, options,
                (message, cancellationToken) => function(provider, message, cancellationToken),
                provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<QueueListener>>());
        });
        return services;
    }
}
