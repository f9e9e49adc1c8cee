using Microsoft.Extensions.DependencyInjection;

namespace Functions.Core.Http;

public static class HttpServiceCollectionExtensions
{
    /// <summary>RFC 9457 problem details for every error answer, and client faults kept out of the 500 path.</summary>
    public static IServiceCollection AddApiProblems(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.AddExceptionHandler<ClientFaultExceptionHandler>();
        return services;
    }
}
