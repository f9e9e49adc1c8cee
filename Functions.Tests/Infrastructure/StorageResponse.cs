using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Core;

namespace Functions.Tests.Infrastructure;

/// <summary>A storage SDK response carrying an ETag, for Moq setups of TableClient writes (Mock.Of&lt;Response&gt; has no headers).</summary>
public sealed class StorageResponse(int status = 204, string etag = "W/\"datetime'2026-01-01T00%3A00%3A00Z'\"") : Response
{
    public override int Status => status;
    public override string ReasonPhrase => "";
    public override Stream? ContentStream { get; set; }
    public override string ClientRequestId { get; set; } = "";
    public override void Dispose() { }

    protected override bool TryGetHeader(string name, [NotNullWhen(true)] out string? value)
    {
        value = name.Equals("ETag", StringComparison.OrdinalIgnoreCase) ? etag : null;
        return value is not null;
    }

    protected override bool TryGetHeaderValues(string name, [NotNullWhen(true)] out IEnumerable<string>? values)
    {
        values = TryGetHeader(name, out var value) ? [value] : null;
        return values is not null;
    }

    protected override bool ContainsHeader(string name) => TryGetHeader(name, out _);

    protected override IEnumerable<HttpHeader> EnumerateHeaders() => [new HttpHeader("ETag", etag)];
}
