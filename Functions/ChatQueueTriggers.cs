using Functions.Core;
using Functions.Core.Completions;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>
/// The queue side of a chat job. Exceptions propagate on purpose: the host's redelivery, dequeue count and
/// poison queue (host.json extensions.queues) depend on the throw.
/// </summary>
public sealed class ChatQueueTriggers(ProcessChatHandler process, PoisonChatHandler poison)
{
    [Function(FunctionNames.ProcessChat)]
    public Task Process([QueueTrigger(FunctionNames.ChatQueue)] string message, CancellationToken cancellationToken) =>
        process.HandleAsync(message, cancellationToken);

    /// <summary>Messages the host gave up on: their jobs end Failed with the last error, never stuck.</summary>
    [Function(FunctionNames.ProcessChatPoison)]
    public Task Poison([QueueTrigger(FunctionNames.ChatPoisonQueue)] string message, CancellationToken cancellationToken) =>
        poison.HandleAsync(message, cancellationToken);
}
