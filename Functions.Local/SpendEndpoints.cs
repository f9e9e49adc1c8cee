using Functions.Core.Spend;

namespace Functions.Local;

/// <summary>The spend report's HTTP trigger, on the route the Functions app serves.</summary>
public static class SpendEndpoints
{
    public static IEndpointRouteBuilder MapSpendApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/" + SpendReportHandler.Route,
            (HttpRequest request, SpendReportHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken));
        return app;
    }
}
