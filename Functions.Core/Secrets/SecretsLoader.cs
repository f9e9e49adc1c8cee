using Microsoft.Extensions.Hosting;

namespace Functions.Core.Secrets;

/// <summary>
/// Reads every vault secret before the host serves anything, so an unreachable vault, a denied identity or a missing
/// secret stops start-up with a message naming the vault and the secret, not the first request with a 401.
/// The work runs in <see cref="StartingAsync"/>, which the host finishes for every service before it starts any:
/// in Azure that is before the worker connects to the Functions host and accepts invocations.
/// </summary>
public sealed class SecretsLoader(SecretStore secrets) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => secrets.LoadAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
