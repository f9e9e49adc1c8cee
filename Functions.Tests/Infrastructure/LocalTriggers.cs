using System.Reflection;
using Functions.Core;
using Functions.Local.Timers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Functions.Tests.Infrastructure;

/// <summary>One trigger Functions.Local runs, as its registrations say, with its settings resolved.</summary>
public sealed record LocalTrigger(string Name, string Type, string? Route = null, IReadOnlyList<string>? Methods = null,
    string? Queue = null, string? ScheduleSetting = null)
{
    /// <summary>
    /// Every trigger the local host wires, read from what it registered (not from a list kept beside them): the named
    /// endpoints it maps, the <c>[FunctionName]</c> queue functions its WebJobs host indexes (names resolved by its
    /// INameResolver), and its timers.
    /// </summary>
    public static IReadOnlyList<LocalTrigger> Of(IServiceProvider services)
    {
        // Every endpoint under the Functions route prefix is an HTTP trigger; one without a name shows up unnamed.
        var http = services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText!.TrimStart('/').StartsWith(FunctionNames.RoutePrefix + "/", StringComparison.Ordinal))
            .Select(endpoint => new LocalTrigger(
                endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? $"(unnamed {endpoint.RoutePattern.RawText})", "httpTrigger",
                Route: endpoint.RoutePattern.RawText!.TrimStart('/'),
                Methods: endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Select(m => m.ToLowerInvariant()).ToList() ?? []));

        var names = services.GetRequiredService<INameResolver>();
        var queues = services.GetRequiredService<ITypeLocator>().GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .Select(method => (Name: method.GetCustomAttribute<FunctionNameAttribute>()?.Name,
                Trigger: method.GetParameters().Select(p => p.GetCustomAttribute<QueueTriggerAttribute>()).SingleOrDefault(a => a is not null)))
            .Where(function => function is { Name: not null, Trigger: not null })
            .Select(function => new LocalTrigger(function.Name!, "queueTrigger", Queue: names.ResolveWholeString(function.Trigger!.QueueName)));

        var timers = services.GetServices<IHostedService>().OfType<CronTimer>()
            .Select(timer => new LocalTrigger(timer.FunctionName, "timerTrigger", ScheduleSetting: timer.ScheduleSetting));

        return [.. http, .. queues, .. timers];
    }
}
