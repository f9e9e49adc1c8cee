using Functions.Core;
using Functions.Core.Spend;

namespace Functions.Local;

/// <summary>The spend report's HTTP trigger, on the route and under the name the Functions app serves it.</summary>
public static class SpendEndpoints
{
    public static IEndpointRouteBuilder MapSpendApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/" + FunctionNames.RoutePrefix + "/" + FunctionNames.GetSpendRoute,
            (HttpRequest request, SpendReportHandler handler, CancellationToken cancellationToken) =>
                handler.HandleAsync(request, cancellationToken))
            .WithName(FunctionNames.GetSpend);
        return app;
    }
}
