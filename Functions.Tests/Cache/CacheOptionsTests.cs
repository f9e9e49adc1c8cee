using Functions.Core.Cache;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Cache;

public sealed class CacheOptionsTests
{
    private static CacheOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(setting => KeyValuePair.Create(setting.Key, (string?)setting.Value))).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddResponseCache();
        return services.BuildServiceProvider().GetRequiredService<IOptions<CacheOptions>>().Value;
    }

    [Fact]
    public void Defaults_AreCallerScopeAndOneDay()
    {
        var options = Bind();

        Assert.Equal(CacheScope.Caller, options.Scope);
        Assert.Equal(TimeSpan.FromDays(1), options.DefaultTtl);
    }

    [Fact]
    public void Scope_BindsCaseInsensitively()
    {
        Assert.Equal(CacheScope.Shared, Bind(("Cache:Scope", "shared")).Scope);
    }

    [Theory]
    [InlineData("Cache:Scope", "everyone")]
    [InlineData("Cache:DefaultTtl", "00:00:00")]
    [InlineData("Cache:LeaderLease", "00:00:01")]
    [InlineData("Cache:FollowerRecheck", "00:05:00")]
    [InlineData("Cache:Table", "bad-name")]
    [InlineData("Cache:SweepSchedule", "hourly")]
    public void InvalidSetting_IsRefused_NamingIt(string key, string value)
    {
        var refused = Assert.ThrowsAny<Exception>(() => Bind((key, value)));

        Assert.Contains(key.Split(':')[1], refused.Message);
    }
}
