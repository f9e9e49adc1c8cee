using Functions.Core;
using Functions.Core.Conversations;
using Microsoft.Azure.WebJobs;

namespace Functions.Local;

/// <summary>The Functions app's <c>SummarizeConversation</c>, on the WebJobs SDK's queue trigger with the same name and binding.</summary>
public sealed class ConversationQueueTriggers(ConversationSummarizer summarizer)
{
    [FunctionName(FunctionNames.SummarizeConversation)]
    public Task Summarize([QueueTrigger(FunctionNames.SummaryQueue)] string message, CancellationToken cancellationToken) =>
        summarizer.HandleAsync(message, cancellationToken);
}
