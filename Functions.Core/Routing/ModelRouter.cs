using Functions.Core.Completions;
using Functions.Core.Requests;
using Functions.Core.Tokens;
using Microsoft.Extensions.Options;

namespace Functions.Core.Routing;

/// <summary>
/// Chooses a request's candidate models: the route it names (<c>route:{name}</c>, already checked by the reader) or
/// the model it names, evaluated on the request and the caller's roles. Both doors call it once, before the cache,
/// the limits and the budget see the request, so they all see the model that will be called first.
/// </summary>
public sealed class ModelRouter(IOptions<RoutingOptions> routing, TokenCounter tokens)
{
    public ChatRequest Route(ChatRequest request, IReadOnlySet<string> roles)
    {
        if (request.Route is not null)
        {
            return request;
        }
        if (!request.Model.StartsWith(RoutingOptions.Prefix, StringComparison.Ordinal))
        {
            return request with { Route = new RoutePlan(null, [request.Model], "model named") };
        }
        var inputTokens = new Lazy<int>(() => tokens.EstimateInputTokens(request));
        var route = routing.Value.Route(request.Model[RoutingOptions.Prefix.Length..])!;
        var (candidates, reason) = Evaluate(route, request, roles, inputTokens);
        return request with
        {
            Model = candidates[0],
            Route = new RoutePlan(route.Name, candidates, reason, StaleIfError: route.StaleIfError,
                FallbackOnContentFilter: route.FallbackOnContentFilter),
        };
    }

    /// <summary>The first matching rule's candidates (following hand-overs to other routes), else the route's own.</summary>
    private (IReadOnlyList<string> Candidates, string Reason) Evaluate(RouteOptions route, ChatRequest request, IReadOnlySet<string> roles,
        Lazy<int> inputTokens)
    {
        for (var i = 0; i < route.Rules.Count; i++)
        {
            var rule = route.Rules[i];
            if (!Matches(rule, request, roles, inputTokens))
            {
                continue;
            }
            var reason = $"{route.Name} rule {i} ({Describe(rule)})";
            if (rule.Route is { } next)
            {
                var (candidates, then) = Evaluate(routing.Value.Route(next)!, request, roles, inputTokens);
                return (candidates, $"{reason} → {then}");
            }
            return (rule.Models, reason);
        }
        return (route.Models, $"{route.Name} default order");
    }

    private static bool Matches(RouteRule rule, ChatRequest request, IReadOnlySet<string> roles, Lazy<int> inputTokens) =>
        (rule.Task is null || rule.Task == request.Task)
        && (rule.Tools is not { } tools || tools == request.Tools is { Count: > 0 })
        && (rule.JsonSchema is not { } schema || schema == request.ResponseFormat?.Type is ResponseFormat.JsonSchemaType or ResponseFormat.JsonObject)
        && (rule.Role is null || roles.Contains(rule.Role))
        && (rule.MinInputTokens is not { } min || inputTokens.Value >= min)
        && (rule.MaxInputTokens is not { } max || inputTokens.Value <= max);

    private static string Describe(RouteRule rule) => string.Join(", ", new[]
    {
        rule.Task is { } task ? $"task={task}" : null,
        rule.Tools is { } tools ? $"tools={tools.ToString().ToLowerInvariant()}" : null,
        rule.JsonSchema is { } schema ? $"jsonSchema={schema.ToString().ToLowerInvariant()}" : null,
        rule.MinInputTokens is { } min ? $"inputTokens>={min}" : null,
        rule.MaxInputTokens is { } max ? $"inputTokens<={max}" : null,
        rule.Role is { } role ? $"role={role}" : null,
    }.Where(part => part is not null).DefaultIfEmpty("always"));
}

/// <summary>Start-up checks of <see cref="RoutingOptions"/>, each failure naming its setting.</summary>
public sealed class RoutingValidation(IOptions<OpenAIOptions> openAI) : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var known = openAI.Value.AllowedModelSet.Concat(openAI.Value.Models.Select(model => model.Name)).ToHashSet(StringComparer.Ordinal);
        var failures = new List<string>();
        void CheckModels(List<string> models, string path, bool required)
        {
            if (required && models.Count == 0)
            {
                failures.Add($"{path}:0 is required: a route lists at least one candidate model.");
            }
            for (var i = 0; i < models.Count; i++)
            {
                if (!known.Contains(models[i]))
                {
                    failures.Add($"{path}:{i} '{models[i]}' is not a known model: list it in OpenAI:Models or OpenAI:AllowedModels.");
                }
            }
        }
        for (var n = 0; n < options.Routes.Count; n++)
        {
            var route = options.Routes[n];
            var path = $"{RoutingOptions.SectionName}:Routes:{n}";
            if (string.IsNullOrWhiteSpace(route.Name))
            {
                failures.Add($"{path}:Name is required.");
            }
            else if (options.Routes.Take(n).Any(earlier => earlier.Name == route.Name))
            {
                failures.Add($"{path}:Name '{route.Name}' is listed twice; route names must be unique.");
            }
            CheckModels(route.Models, $"{path}:Models", required: true);
            for (var k = 0; k < route.Rules.Count; k++)
            {
                var rule = route.Rules[k];
                var rulePath = $"{path}:Rules:{k}";
                if (rule.Route is { } next)
                {
                    if (options.Route(next) is null)
                    {
                        failures.Add($"{rulePath}:Route '{next}' names no route.");
                    }
                    else if (Cycle(options, route.Name, next) is { } cycle)
                    {
                        failures.Add($"{rulePath}:Route '{next}' makes a cycle: {cycle}.");
                    }
                }
                else
                {
                    CheckModels(rule.Models, $"{rulePath}:Models", required: true);
                }
            }
        }
        if (options.DefaultRoute is { Length: > 0 } defaultRoute && options.Route(defaultRoute) is null)
        {
            failures.Add($"{RoutingOptions.SectionName}:DefaultRoute '{defaultRoute}' names no route in Routing:Routes.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The path back to <paramref name="start"/> through the hand-overs from <paramref name="next"/>, if there is one.</summary>
    private static string? Cycle(RoutingOptions options, string start, string next)
    {
        var path = new List<string> { start };
        var frontier = new Stack<(string Route, List<string> Path)>([(next, path)]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (frontier.TryPop(out var at))
        {
            var walked = new List<string>(at.Path) { at.Route };
            if (at.Route == start)
            {
                return string.Join(" → ", walked);
            }
            if (!seen.Add(at.Route) || options.Route(at.Route) is not { } route)
            {
                continue;
            }
            foreach (var rule in route.Rules.Where(rule => rule.Route is not null))
            {
                frontier.Push((rule.Route!, walked));
            }
        }
        return null;
    }
}
