using System.Text.Json;
using Functions.Core.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Functions.Core.Requests;

/// <summary>
/// Reads a request body as one JSON document, or the problem that says why it cannot be read: not JSON or not
/// UTF-8 (415), too large (413), broken framing or a stalled upload (400/408, from the server's own
/// <see cref="BadHttpRequestException"/>), malformed JSON, undecodable text or a duplicated key (400). Every route that
/// takes a JSON body starts here, so they all refuse the same things the same way.
/// </summary>
public static class JsonRequestBody
{
    public static async Task<(JsonDocument? Document, IResult? Problem)> ReadAsync(HttpRequest http, int maxBytes,
        CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(http.ContentType, out var mediaType) || !IsJson(mediaType))
        {
            return (null, ApiProblems.UnsupportedMediaType());
        }
        if (!IsUtf8(mediaType))
        {
            // Parsing another charset's bytes as UTF-8 would hand the model different text from what was sent.
            return (null, ApiProblems.NotUtf8());
        }
        if (http.ContentLength > maxBytes)
        {
            return (null, ApiProblems.PayloadTooLarge(maxBytes));
        }

        ReadOnlyMemory<byte>? body;
        try
        {
            body = await ReadAtMostAsync(http.Body, maxBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex)
        {
            // A bad chunk size, a body cut short or one arriving too slowly: the client's connection, not our fault.
            return (null, ApiProblems.UnreadableBody(ex.StatusCode));
        }
        catch (IOException)
        {
            // Kestrel reports some broken framing as a plain IOException ("Bad chunk size data" for a size that overflows).
            return (null, ApiProblems.UnreadableBody(StatusCodes.Status400BadRequest));
        }
        if (body is null)
        {
            return (null, ApiProblems.PayloadTooLarge(maxBytes));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Value);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblems.MalformedJson((ex.LineNumber ?? 0) + 1, ex.BytePositionInLine ?? 0, FirstSentence(ex.Message)));
        }

        var problem = JsonRules.FindUndecodableText(document.RootElement) is { } undecodable
            ? Field(undecodable, "Must be valid Unicode text (no unpaired surrogates or invalid UTF-8).")
            : JsonRules.FindDuplicateProperty(document.RootElement) is { } duplicate
                ? Field(duplicate, "Appears more than once; send each field once.")
                : null;
        if (problem is not null)
        {
            document.Dispose();
            return (null, problem);
        }
        return (document, null);
    }

    private static IResult Field(string path, string message) =>
        ApiProblems.Validation(new Dictionary<string, string[]> { [path] = [message] });

    private static bool IsJson(MediaTypeHeaderValue mediaType) =>
        mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);

    /// <summary>JSON is UTF-8 (RFC 8259); a charset parameter may only say so.</summary>
    private static bool IsUtf8(MediaTypeHeaderValue mediaType) =>
        !mediaType.Charset.HasValue
        || HeaderUtilities.RemoveQuotes(mediaType.Charset) is var charset
        && (charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads at most <paramref name="maxBytes"/>; null when the body is longer (chunked bodies carry no length).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadAtMostAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: … | LineNumber: …", which the problem states in its own fields.
        foreach (var marker in (ReadOnlySpan<string>)[" Path:", " LineNumber:"])
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return message.TrimEnd('.', ' ', '|');
    }
}
