using Functions.Core.Secrets;
using Functions.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.Settings;

/// <summary>
/// Reads every setting before the host starts: options are bound and validated, the storage account is parsed and
/// the vault's secrets are read. A host calls this between building and starting, so a bad setting stops it with the
/// one line <see cref="StartupFailure"/> makes of it, not with the hosting layer's page of nested stack traces.
/// </summary>
public static class StartupCheck
{
    public static async Task RunAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        services.GetService<IStartupValidator>()?.Validate();
        services.GetRequiredService<StorageAccount>();
        await services.GetRequiredService<SecretStore>().LoadAsync(cancellationToken);
    }
}
