using Functions.Core.Conversations;
using Functions.Local.Queues;
using Microsoft.Extensions.Options;

namespace Functions.Local;

/// <summary>The summary queue's trigger, bound to the same queue as the Functions app's <c>SummarizeConversation</c>.</summary>
public static class ConversationQueueTriggers
{
    public static IServiceCollection AddConversationQueueTriggers(this IServiceCollection services)
    {
        services.AddQueueTrigger("SummarizeConversation",
            provider => provider.GetRequiredService<IOptions<ConversationsOptions>>().Value.SummaryQueue,
            (provider, message, cancellationToken) =>
                provider.GetRequiredService<ConversationSummarizer>().HandleAsync(message.Body.ToString(), cancellationToken));
        return services;
    }
}
