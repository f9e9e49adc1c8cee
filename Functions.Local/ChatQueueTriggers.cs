using Functions.Core;
using Functions.Core.Completions;
using Microsoft.Azure.WebJobs;

namespace Functions.Local;

/// <summary>
/// The Functions app's <c>ProcessChat</c> and <c>ProcessChatPoison</c>, on the WebJobs SDK's queue trigger (the Functions
/// host's engine) with the same names and bindings. Exceptions propagate: redelivery and the poison queue depend on them.
/// </summary>
public sealed class ChatQueueTriggers(ProcessChatHandler process, PoisonChatHandler poison)
{
    [FunctionName(FunctionNames.ProcessChat)]
    public Task Process([QueueTrigger(FunctionNames.ChatQueue)] string message, CancellationToken cancellationToken) =>
        process.HandleAsync(message, cancellationToken);

    [FunctionName(FunctionNames.ProcessChatPoison)]
    public Task Poison([QueueTrigger(FunctionNames.ChatPoisonQueue)] string message, CancellationToken cancellationToken) =>
        poison.HandleAsync(message, cancellationToken);
}
