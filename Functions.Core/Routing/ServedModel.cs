using Functions.Core.Completions;
using Microsoft.Extensions.Options;

namespace Functions.Core.Routing;

/// <summary>Where a model's calls go: its endpoint, and the key its shared gate and circuit breaker go by.</summary>
/// <param name="GateKey">One per endpoint and deployment (Table Storage row-key safe), so one provider's outage stops only its own calls.</param>
public sealed record ServedModel(string Name, string Endpoint, string Deployment, string GateKey);

/// <summary>Resolves model names to the endpoint and deployment that serve them (see <see cref="OpenAIOptions.Models"/>).</summary>
public sealed class ModelCatalog(IOptions<OpenAIOptions> options)
{
    public ServedModel Resolve(string model)
    {
        var settings = options.Value;
        var listed = settings.Model(model);
        // A model listed with a base URL for its endpoint shares the default endpoint's client, as before endpoints were named.
        var endpoint = settings.EndpointOf(listed) ?? settings.DefaultEndpoint;
        var deployment = listed?.Deployment is { Length: > 0 } named ? named : model;
        return new ServedModel(model, endpoint.Name, deployment, GateKeyOf(endpoint.Name, deployment));
    }

    /// <summary>Characters Table Storage refuses in a row key ('/', '\', '#', '?') or that would split the key are replaced.</summary>
    private static string GateKeyOf(string endpoint, string deployment) =>
        string.Concat($"{endpoint}|{deployment}".Select(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c) ? '_' : c));
}
