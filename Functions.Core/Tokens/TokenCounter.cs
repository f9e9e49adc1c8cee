using System.Runtime.CompilerServices;
using System.Text.Json;
using Functions.Core.Requests;

namespace Functions.Core.Tokens;

/// <summary>
/// Counts tokens with the model's real tokenizer (Microsoft.ML.Tokenizers, tiktoken's o200k_base and cl100k_base),
/// for every estimate in the code base: budget reservations first. Counts err high, never low:
/// <list type="bullet">
/// <item>text is counted as plain text: a special-token string such as <c>&lt;|endoftext|&gt;</c> in a message counts
/// as one token per character, as the API (which never lets user text form a special token) can at most make it;</item>
/// <item>text is counted in pieces of at most <see cref="ChunkChars"/> characters, cut at whitespace where possible: a
/// cut can only add tokens, and it bounds the tokenizer's work (byte-pair merging is quadratic in a run of letters
/// with no space, such as a long Chinese paragraph);</item>
/// <item>a prompt adds the chat format's overhead and a margin, see <see cref="EstimateInputTokens"/>.</item>
/// </list>
/// Thread-safe; the tokenizers are built once per process, on first use (<see cref="TokenEncoding"/>).
/// </summary>
public sealed class TokenCounter
{
    /// <summary>The chat format around each message (OpenAI counts 3 for gpt-3.5-turbo and later, 4 for older models).</summary>
    public const int TokensPerMessage = 4;

    /// <summary>Every reply is primed with <c>&lt;|start|&gt;assistant&lt;|message|&gt;</c>.</summary>
    public const int ReplyPrimingTokens = 3;

    /// <summary>Tool definitions are rendered into a system section; this covers its frame (OpenAI does not publish it).</summary>
    public const int ToolsOverheadTokens = 16;

    /// <summary>Each tool's and the response schema's frame around its JSON.</summary>
    public const int TokensPerTool = 8;

    /// <summary>Added once to every prompt estimate, on top of the proportional margin.</summary>
    public const int FlatMarginTokens = 8;

    /// <summary>The longest piece of text the tokenizer is handed at once.</summary>
    public const int ChunkChars = 256;

    private readonly ConditionalWeakTable<ChatRequest, StrongBox<int>> estimates = new();

    /// <summary>The tokens of <paramref name="text"/> alone, in <paramref name="model"/>'s encoding (no margin).</summary>
    public int CountText(string model, string text) => Count(TokenEncoding.ForModel(model), text);

    /// <summary>
    /// An upper bound of the prompt tokens the API will bill for <paramref name="request"/>: the messages' roles and
    /// content plus <see cref="TokensPerMessage"/> each and <see cref="ReplyPrimingTokens"/>, the tools' and response
    /// schema's JSON with their frames, all padded by the model's <see cref="TokenEncoding.Margin"/> (2 % for a known
    /// family, 25 % for an unknown model) and <see cref="FlatMarginTokens"/>.
    /// </summary>
    /// <remarks>
    /// Counted once per request: a request is immutable, and the rate limits and the budget both ask for the routed
    /// request's estimate (a prompt of 100,000 characters takes the tokenizer milliseconds).
    /// </remarks>
    public int EstimateInputTokens(ChatRequest request) => estimates.GetValue(request, counted => new StrongBox<int>(Estimate(counted))).Value;

    private static int Estimate(ChatRequest request)
    {
        var encoding = TokenEncoding.ForModel(request.Model);
        long tokens = ReplyPrimingTokens;
        foreach (var message in request.Messages)
        {
            tokens += TokensPerMessage + Count(encoding, message.Role) + Count(encoding, message.Content)
                      + (message.ToolCallId is { } toolCallId ? Count(encoding, toolCallId) : 0);
            foreach (var call in message.ToolCalls ?? [])
            {
                tokens += TokensPerTool + Count(encoding, call.Id) + Count(encoding, call.Name) + Count(encoding, call.Arguments);
            }
        }
        if (request.Tools is { Count: > 0 } tools)
        {
            tokens += ToolsOverheadTokens;
            foreach (var tool in tools)
            {
                tokens += TokensPerTool + Count(encoding, tool.Name) + Count(encoding, tool.Description ?? "")
                          + (tool.Parameters is { } parameters ? Count(encoding, parameters.GetRawText()) : 0);
            }
        }
        if (request.ResponseFormat?.JsonSchema is { } schema)
        {
            tokens += TokensPerTool + Count(encoding, schema.Name) + Count(encoding, schema.Description ?? "")
                      + Count(encoding, JsonSerializer.Serialize(schema.Schema));
        }
        var padded = Math.Ceiling(tokens * (1 + encoding.Margin)) + FlatMarginTokens;
        return padded >= int.MaxValue ? int.MaxValue : (int)padded;
    }

    private static int Count(TokenEncoding encoding, string text)
    {
        var tokenizer = encoding.Tokenizer;
        var specials = tokenizer is Microsoft.ML.Tokenizers.TiktokenTokenizer { SpecialTokens: { } map } ? map.Keys : [];
        var total = 0;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            var piece = rest[..ChunkLength(rest)];
            rest = rest[piece.Length..];
            total += tokenizer.CountTokens(piece);
            if (piece.Contains("<|", StringComparison.Ordinal))
            {
                total += PlainTextSurcharge(piece, specials);
            }
        }
        return total;
    }

    /// <summary>
    /// The tokenizer counts a special-token string as one token; as plain text it is at most one token per (ASCII)
    /// character, so each occurrence adds its length less the one already counted.
    /// </summary>
    private static int PlainTextSurcharge(ReadOnlySpan<char> piece, IEnumerable<string> specials)
    {
        var surcharge = 0;
        foreach (var special in specials)
        {
            for (var at = piece.IndexOf(special, StringComparison.Ordinal); at >= 0;)
            {
                surcharge += special.Length - 1;
                var next = piece[(at + special.Length)..].IndexOf(special, StringComparison.Ordinal);
                at = next < 0 ? -1 : at + special.Length + next;
            }
        }
        return surcharge;
    }

    /// <summary>Up to <see cref="ChunkChars"/>, cut before the last whitespace of the second half, never inside a surrogate pair.</summary>
    private static int ChunkLength(ReadOnlySpan<char> text)
    {
        if (text.Length <= ChunkChars)
        {
            return text.Length;
        }
        for (var cut = ChunkChars; cut > ChunkChars / 2; cut--)
        {
            if (char.IsWhiteSpace(text[cut]))
            {
                return cut;
            }
        }
        return char.IsHighSurrogate(text[ChunkChars - 1]) ? ChunkChars - 1 : ChunkChars;
    }
}
