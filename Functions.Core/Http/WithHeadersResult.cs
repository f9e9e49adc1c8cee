using Microsoft.AspNetCore.Http;

namespace Functions.Core.Http;

/// <summary>Adds response headers to another result, so handlers stay independent of the response object.</summary>
public sealed class WithHeadersResult(IResult inner, IReadOnlyDictionary<string, string> headers) : IResult
{
    public IResult Inner => inner;
    public IReadOnlyDictionary<string, string> Headers => headers;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        foreach (var (name, value) in headers)
        {
            httpContext.Response.Headers[name] = value;
        }
        return inner.ExecuteAsync(httpContext);
    }
}
