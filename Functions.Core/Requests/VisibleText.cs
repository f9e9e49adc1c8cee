using System.Globalization;
using System.Text;

namespace Functions.Core.Requests;

/// <summary>
/// Whether text shows anything: content made only of spaces, control characters (<c>\u0000</c>), format characters
/// (zero-width space <c>\u200b</c>, joiners, bidi marks), lone combining marks, variation selectors, tag characters or
/// the blank "filler" letters is billed like a prompt yet says nothing, so it is refused.
/// </summary>
public static class VisibleText
{
    public static bool HasVisibleCharacter(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsVisible(rune))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsVisible(Rune rune)
    {
        if (IsBlank(rune.Value))
        {
            return false;
        }
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark => false,
            _ => true,
        };
    }

    /// <summary>Letters and symbols that render as nothing (Unicode's default-ignorable fillers and the blank braille cell).</summary>
    private static bool IsBlank(int codePoint) => codePoint is 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x2800 or 0x17B4 or 0x17B5
        or (>= 0x180B and <= 0x180F) or (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0000 and <= 0xE0FFF);
}
