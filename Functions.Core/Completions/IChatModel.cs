using Functions.Core.Jobs;
using Functions.Core.Requests;

namespace Functions.Core.Completions;

/// <summary>One call to the language model. Failures surface as <see cref="ModelCallException"/>.</summary>
public interface IChatModel
{
    Task<JobResult> CompleteAsync(ChatRequest request, CancellationToken cancellationToken);
}
