using Azure.Data.Tables;

namespace Functions.Core.Storage;

/// <summary>
/// Stores a long string across several properties, because Table Storage caps one string property at 64 KiB
/// (32K UTF-16 characters) while an entity may hold 1 MiB: <c>Name</c>, <c>Name_1</c>, <c>Name_2</c>, …
/// </summary>
public static class TextChunks
{
    public const int CharsPerProperty = 32 * 1024 - 1;

    public static void Write(TableEntity entity, string name, string? value)
    {
        if (value is null)
        {
            return;
        }
        var index = 0;
        var offset = 0;
        do
        {
            var length = Math.Min(CharsPerProperty, value.Length - offset);
            // Never split a surrogate pair: half of one is not valid UTF-16 and would be stored as U+FFFD.
            if (offset + length < value.Length && char.IsHighSurrogate(value[offset + length - 1]))
            {
                length--;
            }
            entity[PropertyName(name, index++)] = value.Substring(offset, length);
            offset += length;
        }
        while (offset < value.Length);
    }

    public static string? Read(TableEntity entity, string name)
    {
        var first = entity.GetString(name);
        if (first is null)
        {
            return null;
        }
        var next = entity.GetString(PropertyName(name, 1));
        if (next is null)
        {
            return first;
        }
        var builder = new System.Text.StringBuilder(first).Append(next);
        for (var index = 2; entity.GetString(PropertyName(name, index)) is { } chunk; index++)
        {
            builder.Append(chunk);
        }
        return builder.ToString();
    }

    private static string PropertyName(string name, int index) => index == 0 ? name : $"{name}_{index}";
}
