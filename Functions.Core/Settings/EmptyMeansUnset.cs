using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Functions.Core.Settings;

/// <summary>
/// Makes a setting set to the empty string read as not set, from every source (<c>OpenAI__ApiKey=</c> in a shell, a CI
/// variable or a .env template): an empty key, URI or number is never what anyone meant, and half the code would
/// treat it as absent while the other half tried to use it.
/// </summary>
public static class EmptyMeansUnset
{
    /// <summary>Wraps every source added so far; call once the host's sources are all in place.</summary>
    public static IConfigurationBuilder TreatEmptyAsUnset(this IConfigurationBuilder builder)
    {
        var sources = builder.Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is not Source)
            {
                sources[i] = new Source(sources[i]);
            }
        }
        return builder;
    }

    private sealed class Source(IConfigurationSource inner) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(inner.Build(builder));
    }

    private sealed class Provider(IConfigurationProvider inner) : IConfigurationProvider, IDisposable
    {
        public bool TryGet(string key, out string? value)
        {
            if (inner.TryGet(key, out value) && !string.IsNullOrEmpty(value))
            {
                return true;
            }
            value = null;
            return false;
        }

        public void Set(string key, string? value) => inner.Set(key, value);

        public IChangeToken GetReloadToken() => inner.GetReloadToken();

        public void Load() => inner.Load();

        public IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) =>
            inner.GetChildKeys(earlierKeys, parentPath);

        public void Dispose() => (inner as IDisposable)?.Dispose();

        public override string? ToString() => inner.ToString();
    }
}
