using System.ClientModel;
using Functions.Core.Completions;
using Functions.Tests.Infrastructure;
using OpenAI;

namespace Functions.Tests.Completions;

/// <summary>What the model receives, over HTTP to the loopback OpenAI-compatible server.</summary>
public sealed class OpenAIChatModelGenerationTests : IAsyncLifetime
{
    private FakeOpenAIServer server = null!;
    private OpenAIChatModel model = null!;

    public async Task InitializeAsync()
    {
        server = await FakeOpenAIServer.StartAsync();
        model = new OpenAIChatModel(new OpenAIClient(new ApiKeyCredential("test-key"), new OpenAIClientOptions { Endpoint = server.BaseUrl }), TimeProvider.System);
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Complete_PassesEveryGenerationSettingThrough()
    {
        var request = await ChatRequests.ParseAsync("""
            {"messages":[{"role":"user","content":"Weather in Paris as JSON?"}],"temperature":0,"topP":0.25,"seed":42,"stop":["END","STOP"],
             "responseFormat":{"type":"json_schema","jsonSchema":{"name":"weather","description":"A forecast","strict":true,
               "schema":{"type":"object","properties":{"celsius":{"type":"number"}},"required":["celsius"],"additionalProperties":false}}},
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
               "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"now"}}]}
            """);

        await model.CompleteAsync(request, CancellationToken.None);

        var body = Assert.Single(server.Calls).Body;
        Assert.Equal(0.25, body.GetProperty("top_p").GetDouble(), 6);
        Assert.Equal(42, body.GetProperty("seed").GetInt64());
        Assert.Equal(["END", "STOP"], body.GetProperty("stop").EnumerateArray().Select(stop => stop.GetString()));
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("weather", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("A forecast", format.GetProperty("json_schema").GetProperty("description").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal("number", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("celsius")
            .GetProperty("type").GetString());
        var tools = body.GetProperty("tools");
        Assert.Equal(2, tools.GetArrayLength());
        Assert.Equal("function", tools[0].GetProperty("type").GetString());
        Assert.Equal("get_weather", tools[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("Weather for a city", tools[0].GetProperty("function").GetProperty("description").GetString());
        Assert.Equal("string", tools[0].GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("city")
            .GetProperty("type").GetString());
        Assert.Equal("now", tools[1].GetProperty("function").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("json_object")]
    [InlineData("text")]
    public async Task Complete_PassesTheResponseFormatType(string type)
    {
        var request = await ChatRequests.ParseAsync(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"JSON please\"}],\"responseFormat\":{\"type\":\"" + type + "\"}}");

        await model.CompleteAsync(request, CancellationToken.None);

        Assert.Equal(type, Assert.Single(server.Calls).Body.GetProperty("response_format").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Complete_WithoutOptionalSettings_SendsNoneOfThem()
    {
        await model.CompleteAsync(await ChatRequests.ParseAsync("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), CancellationToken.None);

        var body = Assert.Single(server.Calls).Body;
        foreach (var name in (string[])["top_p", "seed", "stop", "response_format", "tools", "temperature"])
        {
            Assert.False(body.TryGetProperty(name, out _), name);
        }
    }
}
