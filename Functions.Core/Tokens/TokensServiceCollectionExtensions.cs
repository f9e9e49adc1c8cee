using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Functions.Core.Tokens;

public static class TokensServiceCollectionExtensions
{
    /// <summary>The token counter every estimate uses (budgets, and whatever else must bound a prompt's size).</summary>
    public static IServiceCollection AddTokens(this IServiceCollection services)
    {
        services.TryAddSingleton<TokenCounter>();
        return services;
    }
}
