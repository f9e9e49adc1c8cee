using System.Text.RegularExpressions;
using Functions.Core;
using Functions.Core.Storage;
using Functions.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Functions.Tests.App;

/// <summary>
/// The Functions app's generated functions.metadata (what the Functions host indexes) against what Functions.Local
/// wires: the same functions, each with the same trigger, route and methods, queue (settings resolved), poison queue
/// and schedule setting. The local side is read from its registrations, so a trigger added to both hosts is covered
/// without touching this test, and a trigger in one host only fails it.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class FunctionsMetadataTests(AzuriteFixture azurite, ITestOutputHelper output) : HostedTest(azurite)
{
    protected override bool StartsHost => true;

    [Fact]
    public void TheRoutesThe404And405AnswersKnow_AreExactlyTheHttpTriggers()
    {
        // ApiRoutes.All is what an unmatched request is checked against (405 with Allow, or 404): a trigger missing
        // from it would answer 404 for a wrong method, and one left in it after its trigger went would claim a method.
        var triggers = FunctionsMetadata.Read()
            .Where(function => function.Trigger.Type == "httpTrigger" && function.Name != FunctionNames.UnmatchedRoute)
            .SelectMany(function => function.Trigger.Methods.Select(method => $"{method.ToUpperInvariant()} {function.Trigger.Route}"));

        Assert.Equal(triggers.Order(), Core.Http.ApiRoutes.All.Select(route => $"{route.Method} {route.Template}").Order());
    }

    [Fact]
    public void TheGeneratedMetadata_ListsExactlyTheTriggersTheLocalHostRuns_WithTheSameBindings()
    {
        var local = LocalTrigger.Of(Host.App.Services);
        var metadata = FunctionsMetadata.Read();
        foreach (var function in metadata)
        {
            output.WriteLine($"{function.Name}: {function.Trigger.Type} {function.Trigger.Route ?? function.Trigger.QueueName ?? function.Trigger.Schedule} " +
                string.Join(",", function.Trigger.Methods));
        }

        Assert.Equal(local.Select(t => t.Name).Order(), metadata.Select(f => f.Name).Order());
        Assert.All(local, trigger =>
        {
            var binding = metadata.Single(function => function.Name == trigger.Name).Trigger;
            Assert.Equal(trigger.Type, binding.Type);
            switch (trigger.Type)
            {
                case "httpTrigger":
                    Assert.Equal(trigger.Route, FunctionNames.RoutePrefix + "/" + binding.Route);
                    Assert.Equal(trigger.Methods!.Order(), binding.Methods.Select(m => m.ToLowerInvariant()).Order());
                    break;
                case "queueTrigger":
                    Assert.Equal(trigger.Queue, Resolve(binding.QueueName!));
                    break;
                case "timerTrigger":
                    Assert.Equal($"%{trigger.ScheduleSetting}%", binding.Schedule);
                    break;
                default:
                    Assert.Fail($"{trigger.Name}: no comparison for {trigger.Type} yet; add one here.");
                    break;
            }
        });
    }

    [Fact]
    public void ThePoisonQueue_TheHostMovesChatMessagesTo_IsTheOneBothHostsDrainAndCoreCreates()
    {
        var metadata = FunctionsMetadata.Read();
        var local = LocalTrigger.Of(Host.App.Services);

        // The Functions host moves a message that exhausts maxDequeueCount to "<queue>-poison".
        var hostsPoisonQueue = Resolve(metadata.Single(f => f.Name == FunctionNames.ProcessChat).Trigger.QueueName!) + FunctionNames.PoisonSuffix;

        Assert.Equal(hostsPoisonQueue, Resolve(metadata.Single(f => f.Name == FunctionNames.ProcessChatPoison).Trigger.QueueName!));
        Assert.Equal(hostsPoisonQueue, local.Single(t => t.Name == FunctionNames.ProcessChatPoison).Queue);
        Assert.Equal(hostsPoisonQueue, Host.Service<IOptions<StorageOptions>>().Value.PoisonQueue);
    }

    /// <summary>Replaces each <c>%Setting%</c> with the app setting, as the Functions host's name resolver does.</summary>
    private string Resolve(string expression) =>
        Setting().Replace(expression, match => Host.Service<IConfiguration>()[match.Groups[1].Value]
            ?? throw new InvalidOperationException($"{match.Value} does not resolve to a setting"));

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex Setting();
}
