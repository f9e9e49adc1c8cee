using Functions.Core.ChatCompletions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Functions;

/// <summary>POST /api/v1/chat/completions: the OpenAI-compatible interactive door (JSON, or SSE with stream: true).</summary>
public sealed class ChatCompletionTriggers(ChatCompletionsHandler completions)
{
    [Function("ChatCompletions")]
    public async Task<IActionResult> Complete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = ChatCompletionRoutes.Completions)] HttpRequest request,
        CancellationToken cancellationToken) =>
        new ResultActionResult(await completions.HandleAsync(request, cancellationToken));
}
