using System.Text;
using Functions.Core.Http;

namespace Functions.Tests.Http;

public sealed class ServerSentEventTests
{
    [Fact]
    public void AnEvent_IsItsFieldsALine_ThenABlankLine()
    {
        var bytes = new ServerSentEvent("{\"text\":\"hi\"}", "delta", "7", TimeSpan.FromSeconds(2.5)).ToBytes();

        Assert.Equal("event: delta\nid: 7\nretry: 2500\ndata: {\"text\":\"hi\"}\n\n", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void DataWithLineBreaks_IsOneDataFieldALine_WhichTheClientJoinsWithNewlines()
    {
        var bytes = new ServerSentEvent("one\r\ntwo\nthree").ToBytes();

        Assert.Equal("data: one\ndata: two\ndata: three\n\n", Encoding.UTF8.GetString(bytes));
    }
}
