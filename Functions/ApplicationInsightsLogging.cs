using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Functions;

public static class ApplicationInsightsLogging
{
    /// <summary>The Application Insights logger provider's category name, as its filter rule names it.</summary>
    public const string ProviderName = "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    /// <summary>
    /// The Application Insights SDK adds a rule that lets only Warning and above through to its provider; the
    /// isolated-worker guide removes it so the app's Information logs (job finished, cache hit, spend rolled up) reach
    /// Application Insights, filtered by the Logging section like every other provider.
    /// </summary>
    public static ILoggingBuilder KeepInformationForApplicationInsights(this ILoggingBuilder logging)
    {
        logging.Services.Configure<LoggerFilterOptions>(options =>
        {
            var warningOnly = options.Rules.FirstOrDefault(rule => rule.ProviderName == ProviderName);
            if (warningOnly is not null)
            {
                options.Rules.Remove(warningOnly);
            }
        });
        return logging;
    }
}
