using Functions.Core.Requests;
using Functions.Core.Tokens;
using Microsoft.Extensions.Options;

namespace Functions.Core.RateLimits;

/// <summary>
/// The most tokens a request can use: its input by the real tokenizer's estimate, the one the budget reservation prices, plus the whole
/// output allowance. Both per-caller limits and upstream pacing reserve this and correct it to the real usage later,
/// so the estimate is computed here, once, from the request alone (the settle recomputes the same number).
/// </summary>
public sealed class WorstCaseTokens(TokenCounter tokens, IOptions<RequestLimitsOptions> limits)
{
    public int For(ChatRequest request) =>
        tokens.EstimateInputTokens(request) + (request.MaxTokens ?? limits.Value.MaxOutputTokens);
}
