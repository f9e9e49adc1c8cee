using Microsoft.Extensions.DependencyInjection;

namespace Functions.Core.ChatCompletions;

public static class ChatCompletionsServiceCollectionExtensions
{
    /// <summary>The interactive, OpenAI-compatible door: its options, its reader, its handler and runner.</summary>
    public static IServiceCollection AddChatCompletions(this IServiceCollection services)
    {
        services.AddOptions<ChatCompletionsOptions>().BindConfiguration(ChatCompletionsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ChatCompletionRequestReader>();
        services.AddSingleton<ChatCompletionRunner>();
        services.AddSingleton<ChatCompletionsHandler>();
        return services;
    }
}
