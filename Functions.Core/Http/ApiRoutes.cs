using Functions.Core.ChatCompletions;
using Functions.Core.Conversations;
using Functions.Core.Jobs;
using Functions.Core.Spend;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Functions.Core.Http;

/// <summary>One HTTP endpoint of the API: its method and its route under the <c>/api</c> prefix both hosts use.</summary>
public sealed record ApiRoute(string Method, string Template);

/// <summary>
/// Every route the API serves, as the hosts map them (from <see cref="FunctionNames"/>; a test holds the two lists
/// equal): a request that matches none of them (or matches one with another method) is answered by
/// <see cref="UnmatchedRouteHandler"/> with problem+json.
/// </summary>
public static class ApiRoutes
{
    public const string Prefix = "/api";

    public static readonly IReadOnlyList<ApiRoute> All =
    [
        new(HttpMethods.Post, JobRoutes.Submit),
        new(HttpMethods.Get, JobRoutes.Status),
        new(HttpMethods.Get, JobRoutes.Stream),
        new(HttpMethods.Post, ChatCompletionRoutes.Completions),
        new(HttpMethods.Post, ConversationRoutes.Collection),
        new(HttpMethods.Get, ConversationRoutes.Collection),
        new(HttpMethods.Get, ConversationRoutes.Item),
        new(HttpMethods.Delete, ConversationRoutes.Item),
        new(HttpMethods.Get, SpendReportHandler.Route),
    ];

    /// <summary>The methods the routes matching <paramref name="path"/> (below <see cref="Prefix"/>) answer; empty when none.</summary>
    public static IReadOnlyList<string> MethodsFor(PathString path)
    {
        if (path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase, out var rest))
        {
            path = rest;
        }
        var value = path.Value is { Length: > 1 } text ? text.TrimEnd('/') : "/";
        return [.. All.Where(route => Matches(route.Template, value)).Select(route => route.Method).Distinct()];
    }

    private static bool Matches(string template, string path) =>
        new TemplateMatcher(TemplateParser.Parse(template), new RouteValueDictionary()).TryMatch(path, new RouteValueDictionary());
}
