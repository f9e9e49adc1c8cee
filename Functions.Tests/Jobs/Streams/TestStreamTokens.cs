using Functions.Core.Jobs.Streams;
using Functions.Core.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Jobs.Streams;

/// <summary>A real <see cref="StreamTokens"/> for handlers built by hand: its key from configuration, no vault.</summary>
public static class TestStreamTokens
{
    public const string Key = "0123456789abcdefghijklmnopqrstuvwxyz-signing-key";

    public static StreamTokens Create(TimeProvider? time = null, string? key = Key, TimeSpan? lifetime = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["JobStreams:SigningKey"] = key }).Build();
        var secrets = new SecretStore([new SecretDefinition(SecretNames.JobStreamSigningKey, "JobStreams:SigningKey")],
            Options.Create(new KeyVaultOptions()), configuration, null, time ?? TimeProvider.System, NullLogger<SecretStore>.Instance);
        return new StreamTokens(secrets, Options.Create(new JobStreamOptions { TokenLifetime = lifetime ?? TimeSpan.FromMinutes(30) }),
            time ?? TimeProvider.System);
    }
}
