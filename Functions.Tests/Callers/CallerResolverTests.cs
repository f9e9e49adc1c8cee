using Functions.Core.Callers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Callers;

public sealed class CallerResolverTests
{
    private static string? Resolve(CallerOptions options, string? principalHeader)
    {
        var request = new DefaultHttpContext().Request;
        if (principalHeader is not null)
        {
            request.Headers[CallerResolver.PrincipalIdHeader] = principalHeader;
        }
        return new CallerResolver(Options.Create(options)).Resolve(request);
    }

    [Fact]
    public void TrustedHeader_IsTheCaller() =>
        Assert.Equal("alice", Resolve(new CallerOptions { TrustPrincipalHeader = true }, "alice"));

    [Fact]
    public void UntrustedHeader_IsIgnored_RequestIsAnonymous() =>
        Assert.Equal("anonymous", Resolve(new CallerOptions { TrustPrincipalHeader = false }, "alice"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void TrustedButMissingHeader_FallsBackToAnonymous(string? header) =>
        Assert.Equal("guest", Resolve(new CallerOptions { TrustPrincipalHeader = true, AnonymousCallerId = "guest" }, header));

    [Fact]
    public void NoTrustedCaller_WithAnonymousOff_IsRejected() =>
        Assert.Null(Resolve(new CallerOptions { TrustPrincipalHeader = false, AllowAnonymous = false }, "alice"));

    [Fact]
    public void OverlongHeader_IsNotTrusted() =>
        Assert.Null(Resolve(new CallerOptions { TrustPrincipalHeader = true, AllowAnonymous = false }, new string('a', 257)));
}
