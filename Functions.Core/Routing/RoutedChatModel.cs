using System.Runtime.CompilerServices;
using Functions.Core.Completions;
using Functions.Core.Jobs;
using Functions.Core.Requests;

namespace Functions.Core.Routing;

/// <summary>Each endpoint's model chain (key refresh → span → SDK), by endpoint name.</summary>
public sealed record EndpointModels(IReadOnlyDictionary<string, IChatModel> ByName);

/// <summary>The one HTTP client every endpoint's SDK client shares (one connection pool).</summary>
public sealed record UpstreamHttpClient(HttpClient Client);

/// <summary>
/// Sends each call to the endpoint that serves its model (<see cref="ModelCatalog"/>). Which model to call, and what
/// to do when it fails, is <see cref="ModelCaller"/>'s decision; this only knows where a model lives.
/// </summary>
public sealed class RoutedChatModel(EndpointModels endpoints, ModelCatalog catalog) : IChatModel
{
    public Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken) =>
        For(request).CompleteAsync(request, cancellationToken);

    public async IAsyncEnumerable<ChatDelta> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var delta in For(request).StreamAsync(request, cancellationToken))
        {
            yield return delta;
        }
    }

    private IChatModel For(ChatRequest request) => endpoints.ByName[catalog.Resolve(request.Model).Endpoint];
}
