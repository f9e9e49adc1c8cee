using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.Conversations;

public static class ConversationsServiceCollectionExtensions
{
    /// <summary>Server-side conversations: options, their table and summary queue (created at start-up), the turn hooks, the API.</summary>
    public static IServiceCollection AddConversations(this IServiceCollection services)
    {
        services.AddOptions<ConversationsOptions>().BindConfiguration(ConversationsOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(options => options.SummaryMaxTokens * 2 <= options.MaxHistoryTokens,
                "Conversations:SummaryMaxTokens may be at most half of Conversations:MaxHistoryTokens (the rest is for the newest turns).")
            .ValidateOnStart();

        services.AddSingleton(provider => new ConversationTable(
            provider.GetRequiredService<TableServiceClient>().GetTableClient(Options(provider).Table)));
        services.AddSingleton(provider => new SummaryQueue(
            provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Options(provider).SummaryQueue)));
        services.AddSingleton(provider => provider.GetRequiredService<ConversationTable>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<SummaryQueue>().Client);
        services.AddSingleton(provider => provider.GetRequiredService<QueueServiceClient>().GetQueueClient(Options(provider).SummaryQueue + "-poison"));

        services.AddSingleton<ConversationTurns>();
        services.AddSingleton<ConversationSummarizer>();
        services.AddSingleton<ConversationsHandler>();
        return services;
    }

    private static ConversationsOptions Options(IServiceProvider provider) => provider.GetRequiredService<IOptions<ConversationsOptions>>().Value;
}
