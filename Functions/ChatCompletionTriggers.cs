using Functions.Core;
using Functions.Core.ChatCompletions;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>POST /api/v1/chat/completions: the OpenAI-compatible interactive door (JSON, or SSE with stream: true).</summary>
public sealed class ChatCompletionTriggers(ChatCompletionsHandler completions)
{
    [Function(FunctionNames.ChatCompletions)]
    public async Task<IResult> Complete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = FunctionNames.ChatCompletionsRoute)] HttpRequest request,
        CancellationToken cancellationToken) =>
        await completions.HandleAsync(request, cancellationToken);
}
