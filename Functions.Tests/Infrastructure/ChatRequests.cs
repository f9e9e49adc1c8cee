using System.Text;
using Functions.Core.Completions;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Infrastructure;

/// <summary>Chat requests as the API reads them: JSON bodies through the real <see cref="ChatRequestReader"/>.</summary>
public static class ChatRequests
{
    public const string DefaultModel = "gpt-4.1-mini";
    public const string OtherModel = "gpt-4.1-nano";

    public static ChatRequestReader Reader() => new(Options.Create(new RequestLimitsOptions()),
        Options.Create(new OpenAIOptions { DefaultModel = DefaultModel, AllowedModels = OtherModel, ApiKey = "test-key" }));

    public static HttpRequest Http(string json, string? cacheControl = null)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        if (cacheControl is not null)
        {
            context.Request.Headers.CacheControl = cacheControl;
        }
        return context.Request;
    }

    public static async Task<ChatRequest> ParseAsync(string json)
    {
        var (request, problem) = await Reader().ReadAsync(Http(json), CancellationToken.None);
        Assert.Null(problem);
        return request!;
    }

    /// <returns>The validation errors by field.</returns>
    public static async Task<IDictionary<string, string[]>> ErrorsAsync(string json)
    {
        var (request, problem) = await Reader().ReadAsync(Http(json), CancellationToken.None);
        Assert.Null(request);
        return Assert.IsType<ValidationProblem>(problem).ProblemDetails.Errors;
    }
}
