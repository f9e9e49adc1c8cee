namespace Functions.Core.Completions;

/// <summary>
/// A stored answer's text cut into the pieces a stream of it sends (a cache hit replayed, a job stream's remainder):
/// short enough to look live, never splitting a surrogate pair across two pieces.
/// </summary>
public static class AnswerPieces
{
    public const int PieceChars = 64;

    public static IEnumerable<string> Of(string text)
    {
        var offset = 0;
        while (offset < text.Length)
        {
            var length = Math.Min(PieceChars, text.Length - offset);
            if (offset + length < text.Length && char.IsHighSurrogate(text[offset + length - 1]))
            {
                length++;
            }
            yield return text.Substring(offset, length);
            offset += length;
        }
    }
}
