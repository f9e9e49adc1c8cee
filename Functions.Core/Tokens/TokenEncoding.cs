using Microsoft.ML.Tokenizers;

namespace Functions.Core.Tokens;

/// <summary>
/// Which byte-pair encoding a model family uses, and how much the count is padded for it. Chosen by the model id's
/// prefix: gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series and gpt-oss use o200k_base; gpt-4 and gpt-3.5 use cl100k_base.
/// Any other model (an Azure deployment name, a local model behind an OpenAI-compatible endpoint) is counted with
/// o200k_base and padded by <see cref="UnknownModelMargin"/>, because its own tokenizer may split text more finely.
/// </summary>
public sealed class TokenEncoding
{
    /// <summary>Extra share of the counted tokens for a model of a known family: the count is exact, this covers chunking.</summary>
    public const double KnownModelMargin = 0.02;

    /// <summary>Extra share of the counted tokens for a model whose tokenizer is not known.</summary>
    public const double UnknownModelMargin = 0.25;

    private static readonly string[] O200kFamilies = ["gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss"];
    private static readonly string[] Cl100kFamilies = ["gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002"];

    public static readonly TokenEncoding O200kBase = new("o200k_base", KnownModelMargin);
    public static readonly TokenEncoding Cl100kBase = new("cl100k_base", KnownModelMargin);

    /// <summary>o200k_base, with the wider margin of a model that may not use it.</summary>
    public static readonly TokenEncoding Unknown = new(O200kBase, UnknownModelMargin);

    private readonly Lazy<Tokenizer> tokenizer;

    private TokenEncoding(string name, double margin)
    {
        Name = name;
        Margin = margin;
        // Building a tokenizer reads and decompresses a vocabulary of 100,000-200,000 entries (about half a second):
        // once per process, on first use, by one thread while any others wait.
        tokenizer = new Lazy<Tokenizer>(() => TiktokenTokenizer.CreateForEncoding(name), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private TokenEncoding(TokenEncoding shared, double margin)
    {
        Name = shared.Name;
        Margin = margin;
        tokenizer = shared.tokenizer;
    }

    /// <summary>The tiktoken encoding name: <c>o200k_base</c> or <c>cl100k_base</c>.</summary>
    public string Name { get; }

    /// <summary>The share added to a count so that it stays an upper bound for this model.</summary>
    public double Margin { get; }

    internal Tokenizer Tokenizer => tokenizer.Value;

    public static TokenEncoding ForModel(string model)
    {
        // "openai/gpt-4o" (a gateway's provider prefix) is gpt-4o.
        var id = model[(model.LastIndexOf('/') + 1)..];
        if (IsFamily(id, O200kFamilies))
        {
            return O200kBase;
        }
        return IsFamily(id, Cl100kFamilies) ? Cl100kBase : Unknown;
    }

    /// <summary>The id is a family name or starts with one followed by '-', '.' or ':' (gpt-4.1-mini, o3-mini, gpt-4-0613).</summary>
    private static bool IsFamily(string id, string[] families) =>
        families.Any(family => id.StartsWith(family, StringComparison.OrdinalIgnoreCase)
                               && (id.Length == family.Length || id[family.Length] is '-' or '.' or ':' or '_'));

    public override string ToString() => Name;
}
