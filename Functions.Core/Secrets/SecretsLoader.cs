using Microsoft.Extensions.Hosting;

namespace Functions.Core.Secrets;

/// <summary>
/// Reads every vault secret before the host serves anything, so an unreachable vault, a denied identity or a missing
/// secret stops start-up with a message naming the vault and the secret, not the first request with a 401.
/// </summary>
public sealed class SecretsLoader(SecretStore secrets) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => secrets.LoadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
