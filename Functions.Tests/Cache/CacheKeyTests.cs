using Functions.Core.Cache;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Cache;

public sealed class CacheKeyTests
{
    private const string Alice = "caller:alice";

    private const string Base =
        """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}],"temperature":0}""";

    private static async Task<string> KeyOf(string json, string scope = Alice) =>
        CacheKey.Compute(await ChatRequests.ParseAsync(json), scope);

    [Fact]
    public async Task Key_IsTheSame_WhateverThePropertyOrderAndWhitespace()
    {
        var compact = await KeyOf("""
            {"messages":[{"role":"user","content":"hi"}],"temperature":0,"responseFormat":{"type":"json_schema","jsonSchema":{"name":"a","schema":{"type":"object","required":["x"],"properties":{"x":{"type":"string"},"y":{"type":"integer","minimum":1}}}}},
             "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}}}]}
            """);
        var reordered = await KeyOf("""
            {
              "tools": [ { "function": { "parameters": { "properties": { "b": { "type": "integer" }, "a": { "type": "string" } }, "type": "object" },
                                         "description": "d", "name": "f" }, "type": "function" } ],
              "responseFormat": { "jsonSchema": { "schema": { "properties": { "y": { "minimum": 1, "type": "integer" }, "x": { "type": "string" } },
                                                              "required": [ "x" ], "type": "object" }, "name": "a" }, "type": "json_schema" },
              "temperature": 0.0,
              "messages": [ { "content": "hi", "role": "user" } ]
            }
            """);

        Assert.Equal(compact, reordered);
    }

    [Theory]
    [InlineData("\"model\":\"gpt-4.1-mini\"")]
    [InlineData("\"topP\":1")]
    [InlineData("\"topP\":1.0")]
    [InlineData("\"maxTokens\":null")]
    [InlineData("\"seed\":null")]
    [InlineData("\"stop\":[]")]
    [InlineData("\"stop\":null")]
    [InlineData("\"responseFormat\":{\"type\":\"text\"}")]
    [InlineData("\"responseFormat\":null")]
    [InlineData("\"tools\":[]")]
    public async Task Key_IsTheSame_WhenASettingIsLeftOutOrSetToItsDefault(string setting)
    {
        Assert.Equal(await KeyOf(Base), await KeyOf(Base.TrimEnd('}') + "," + setting + "}"));
    }

    [Fact]
    public async Task Key_IsTheSame_ForDefaultTemperatureLeftOutOrGiven_AndForStopSpelledAsStringOrSet()
    {
        const string messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

        Assert.Equal(await KeyOf("{" + messages + "}"), await KeyOf("{" + messages + ",\"temperature\":1}"));
        Assert.Equal(await KeyOf("{" + messages + ",\"stop\":\"END\"}"), await KeyOf("{" + messages + ",\"stop\":[\"END\"]}"));
        Assert.Equal(await KeyOf("{" + messages + ",\"stop\":[\"A\",\"B\"]}"), await KeyOf("{" + messages + ",\"stop\":[\"B\",\"A\",\"B\"]}"));
    }

    [Fact]
    public async Task Key_Differs_ForEverythingThatChangesTheAnswer()
    {
        string[] variants =
        [
            Base,
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"model\":\"gpt-4.1-nano\""),
            Base.Replace("\"role\":\"system\"", "\"role\":\"user\""),
            Base.Replace("Be brief.", "Be brief"),
            Base.Replace("Capital of France?", "Capital of France? "),
            """{"messages":[{"role":"user","content":"Capital of France?"},{"role":"system","content":"Be brief."}],"temperature":0}""",
            """{"messages":[{"role":"user","content":"Capital of France?"}],"temperature":0}""",
            Base.Replace("\"temperature\":0", "\"temperature\":0.2"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"topP\":0.9"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"maxTokens\":100"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"maxTokens\":101"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"seed\":1"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"seed\":2"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"stop\":\"END\""),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"stop\":[\"END\",\"STOP\"]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"responseFormat\":{\"type\":\"json_object\"}"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"a\",\"schema\":{\"type\":\"object\"}}}"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"a\",\"schema\":{\"type\":\"object\"},\"strict\":true}}"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"b\",\"schema\":{\"type\":\"object\"}}}"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"g\"}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"d\"}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"string\"}}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\"}}]"),
            Base.Replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"g\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
        ];

        var keys = new Dictionary<string, string>();
        foreach (var variant in variants)
        {
            var key = await KeyOf(variant);
            Assert.False(keys.TryGetValue(key, out var same), $"Same key for:\n{variant}\n{same}");
            keys[key] = variant;
        }
    }

    [Fact]
    public async Task Key_Differs_ByScope_AndIsA64CharacterHexDigest()
    {
        var alice = await KeyOf(Base, CacheKey.Scope(CacheScope.Caller, "alice"));
        var bob = await KeyOf(Base, CacheKey.Scope(CacheScope.Caller, "bob"));
        var sharedForAlice = await KeyOf(Base, CacheKey.Scope(CacheScope.Shared, "alice"));
        var sharedForBob = await KeyOf(Base, CacheKey.Scope(CacheScope.Shared, "bob"));

        Assert.NotEqual(alice, bob);
        Assert.NotEqual(alice, sharedForAlice);
        Assert.Equal(sharedForAlice, sharedForBob);
        Assert.Matches("^[0-9a-f]{64}$", alice);
    }
}
