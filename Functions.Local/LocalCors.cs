using Functions.Core.Cors;
using Microsoft.Extensions.Options;

namespace Functions.Local;

/// <summary>
/// CORS for every /api route, as the Function App's platform CORS answers it in Azure (same origins, from
/// <c>Cors:AllowedOrigins</c>); in Development also any http://localhost:* origin, so an SPA dev server works out of the
/// box. Requested headers are all allowed (the official SDKs send Authorization, Content-Type, Idempotency-Key and a
/// changing family of <c>x-stainless-*</c> headers); the headers SPAs read are exposed.
/// </summary>
public static class LocalCors
{
    public const string PolicyName = "api";

    public static IServiceCollection AddLocalCors(this IServiceCollection services, bool development)
    {
        services.AddOptions<CorsOptions>().BindConfiguration(CorsOptions.SectionName);
        services.AddCors();
        services.AddSingleton<Microsoft.AspNetCore.Cors.Infrastructure.ICorsPolicyProvider>(provider =>
            new PolicyProvider(provider.GetRequiredService<IOptions<CorsOptions>>().Value, development));
        return services;
    }

    private sealed class PolicyProvider(CorsOptions options, bool development) : Microsoft.AspNetCore.Cors.Infrastructure.ICorsPolicyProvider
    {
        private readonly Microsoft.AspNetCore.Cors.Infrastructure.CorsPolicy policy = new Microsoft.AspNetCore.Cors.Infrastructure.CorsPolicyBuilder()
            .SetIsOriginAllowed(origin => options.AllowedOriginList.Contains(origin.TrimEnd('/'), StringComparer.OrdinalIgnoreCase)
                                          || (development && CorsHeaders.IsLoopbackOrigin(origin)))
            .AllowAnyHeader()
            .WithMethods("GET", "POST", "DELETE")
            .WithExposedHeaders([.. CorsHeaders.Exposed])
            .SetPreflightMaxAge(TimeSpan.FromHours(1))
            .Build();

        public Task<Microsoft.AspNetCore.Cors.Infrastructure.CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) =>
            Task.FromResult<Microsoft.AspNetCore.Cors.Infrastructure.CorsPolicy?>(policy);
    }
}
