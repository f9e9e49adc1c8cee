namespace Functions.Core.Routing;

/// <summary>
/// Routes: named, ordered lists of candidate models and the rules that pick among them, bound from <c>Routing</c>.
/// A request names one as <c>"model": "route:{name}"</c>; one naming no model takes <see cref="DefaultRoute"/>, or the
/// default model when none is set (so with nothing configured, today's settings work unchanged).
/// </summary>
public sealed class RoutingOptions
{
    public const string SectionName = "Routing";

    /// <summary>What <c>"model": "route:{name}"</c> starts with.</summary>
    public const string Prefix = "route:";

    public string? DefaultRoute { get; set; }

    public List<RouteOptions> Routes { get; set; } = [];

    public RouteOptions? Route(string name) => Routes.FirstOrDefault(route => route.Name == name);
}

/// <summary>
/// One route, <c>Routing:Routes:{n}</c>: its <see cref="Models"/> in order (the first that answers wins; the rest are
/// fallbacks), and <see cref="Rules"/> tried in order, the first matching one giving its own candidates instead.
/// </summary>
public sealed class RouteOptions
{
    public string Name { get; set; } = "";

    public List<string> Models { get; set; } = [];

    public List<RouteRule> Rules { get; set; } = [];

    /// <summary>Opt-in: when every candidate fails, an expired cached answer for the request is served, marked stale.</summary>
    public bool StaleIfError { get; set; }

    /// <summary>Opt-in: a content-policy refusal (HTTP 400 <c>content_filter</c>) falls back to the next candidate.</summary>
    public bool FallbackOnContentFilter { get; set; }
}

/// <summary>
/// <c>Routing:Routes:{n}:Rules:{k}</c>: every condition set must hold. Its candidates are <see cref="Models"/>, or those
/// <see cref="Route"/> picks (routes may hand over to each other; a cycle stops the host at start-up).
/// </summary>
public sealed class RouteRule
{
    /// <summary>The request's task tag: <c>metadata.task</c> on <c>/api/chat</c>, <c>metadata.task</c> on the OpenAI route.</summary>
    public string? Task { get; set; }

    /// <summary>True: the request offers tools; false: it offers none.</summary>
    public bool? Tools { get; set; }

    /// <summary>True: the request asks for a JSON schema (or JSON object) answer; false: it does not.</summary>
    public bool? JsonSchema { get; set; }

    /// <summary>The request's input, estimated with the tokenizer, is at least this many tokens.</summary>
    public int? MinInputTokens { get; set; }

    /// <summary>The request's input is at most this many tokens.</summary>
    public int? MaxInputTokens { get; set; }

    /// <summary>The caller holds this role (App Service authentication's principal).</summary>
    public string? Role { get; set; }

    public List<string> Models { get; set; } = [];

    public string? Route { get; set; }
}
