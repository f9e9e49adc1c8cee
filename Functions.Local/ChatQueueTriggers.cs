using Functions.Core.Completions;
using Functions.Core.Storage;
using Functions.Local.Queues;
using Microsoft.Extensions.Options;

namespace Functions.Local;

/// <summary>The queue triggers, bound to the same queues as the Functions app's <c>ProcessChat</c> and <c>ProcessChatPoison</c>.</summary>
public static class ChatQueueTriggers
{
    public static IServiceCollection AddChatQueueTriggers(this IServiceCollection services)
    {
        services.AddQueueTrigger("ProcessChat", provider => Names(provider).ChatQueue,
            (provider, message, cancellationToken) =>
                provider.GetRequiredService<ProcessChatHandler>().HandleAsync(message.Body.ToString(), cancellationToken));
        services.AddQueueTrigger("ProcessChatPoison", provider => Names(provider).PoisonQueue,
            (provider, message, cancellationToken) =>
                provider.GetRequiredService<PoisonChatHandler>().HandleAsync(message.Body.ToString(), cancellationToken));
        return services;
    }

    private static StorageOptions Names(IServiceProvider provider) => provider.GetRequiredService<IOptions<StorageOptions>>().Value;
}
