using Functions.Core.Requests;

namespace Functions.Core.Routing;

/// <summary><c>x-model</c> (the model called) and <c>x-route</c> (the route, when the request named one), on both doors.</summary>
public static class RouteHeaders
{
    public static IEnumerable<KeyValuePair<string, string>> Of(ChatRequest request)
    {
        yield return new(RoutePlan.ModelHeader, request.Model);
        if (request.Route?.Route is { } route)
        {
            yield return new(RoutePlan.RouteHeader, route);
        }
    }
}
