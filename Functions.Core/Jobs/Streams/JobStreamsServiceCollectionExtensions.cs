using Azure.Data.Tables;
using Functions.Core.Secrets;
using Functions.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Core.Jobs.Streams;

public static class JobStreamsServiceCollectionExtensions
{
    /// <summary>Job streams: options, their table (created at start-up), the signing key, writer, reader, handler and sweep.</summary>
    public static IServiceCollection AddJobStreams(this IServiceCollection services)
    {
        services.AddOptions<JobStreamOptions>().BindConfiguration(JobStreamOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(provider => new JobStreamTable(provider.GetRequiredService<TableServiceClient>()
            .GetTableClient(provider.GetRequiredService<IOptions<JobStreamOptions>>().Value.Table)));
        // Registered as a TableClient too, so StorageInitializer creates it at start-up.
        services.AddSingleton(provider => provider.GetRequiredService<JobStreamTable>().Client);

        services.AddSecret(SecretNames.JobStreamSigningKey, "JobStreams:SigningKey");
        services.AddSingleton<StreamTokens>();
        services.AddHostedService<StreamTokenKeyCheck>();

        services.AddSingleton<JobStreamWriter>();
        services.AddSingleton<OpenStreams>();
        services.AddSingleton<JobStreamReader>();
        services.AddSingleton<JobStreamHandler>();
        services.AddSingleton<JobStreamSweepHandler>();
        services.AddSingleton<ISweep>(provider => provider.GetRequiredService<JobStreamSweepHandler>());
        return services;
    }
}
