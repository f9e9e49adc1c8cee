using Functions.Core.Requests;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.Requests;

public sealed class ChatRequestReaderGenerationTests
{
    private const string Messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    [Fact]
    public async Task Read_AcceptsEveryGenerationSetting()
    {
        var request = await ChatRequests.ParseAsync("{" + Messages + """
            ,"temperature":0,"topP":0.5,"seed":42,"stop":["END","STOP"],
            "responseFormat":{"type":"json_schema","jsonSchema":{"name":"answer","description":"An answer","strict":true,
              "schema":{"type":"object","properties":{"text":{"type":"string"}}}}},
            "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
              "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
              {"type":"function","function":{"name":"now"}}]}
            """);

        Assert.Equal(0.5, request.TopP);
        Assert.Equal(42, request.Seed);
        Assert.Equal(["END", "STOP"], request.Stop);
        Assert.Equal(ResponseFormat.JsonSchemaType, request.ResponseFormat!.Type);
        Assert.Equal("answer", request.ResponseFormat.JsonSchema!.Name);
        Assert.Equal("An answer", request.ResponseFormat.JsonSchema.Description);
        Assert.True(request.ResponseFormat.JsonSchema.Strict);
        Assert.Equal("object", request.ResponseFormat.JsonSchema.Schema.GetProperty("type").GetString());
        Assert.Equal(2, request.Tools!.Count);
        Assert.Equal("get_weather", request.Tools[0].Name);
        Assert.Equal("Weather for a city", request.Tools[0].Description);
        Assert.Equal("string", request.Tools[0].Parameters!.Value.GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        Assert.Equal("now", request.Tools[1].Name);
        Assert.Null(request.Tools[1].Description);
        Assert.Null(request.Tools[1].Parameters);
    }

    [Fact]
    public async Task Read_StopAsOneString_IsAListOfThatString_AndEmptyListsMeanNone()
    {
        var single = await ChatRequests.ParseAsync("{" + Messages + ",\"stop\":\"END\"}");
        var empty = await ChatRequests.ParseAsync("{" + Messages + ",\"stop\":[],\"tools\":[],\"seed\":null}");

        Assert.Equal(["END"], single.Stop);
        Assert.Null(empty.Stop);
        Assert.Null(empty.Tools);
        Assert.Null(empty.Seed);
    }

    [Theory]
    [InlineData("\"topP\":1.5", "topP")]
    [InlineData("\"topP\":\"high\"", "topP")]
    [InlineData("\"seed\":1.5", "seed")]
    [InlineData("\"seed\":\"42\"", "seed")]
    [InlineData("\"stop\":3", "stop")]
    [InlineData("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]", "stop")]
    [InlineData("\"stop\":\"\"", "stop")]
    [InlineData("\"stop\":[\"a\",7]", "stop[1]")]
    [InlineData("\"responseFormat\":\"json\"", "responseFormat")]
    [InlineData("\"responseFormat\":{\"type\":\"xml\"}", "responseFormat.type")]
    [InlineData("\"responseFormat\":{}", "responseFormat.type")]
    [InlineData("\"responseFormat\":{\"type\":\"text\",\"jsonSchema\":{}}", "responseFormat.jsonSchema")]
    [InlineData("\"responseFormat\":{\"type\":\"json_schema\"}", "responseFormat.jsonSchema")]
    [InlineData("\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"bad name\",\"schema\":{}}}", "responseFormat.jsonSchema.name")]
    [InlineData("\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"a\"}}", "responseFormat.jsonSchema.schema")]
    [InlineData("\"responseFormat\":{\"type\":\"json_schema\",\"jsonSchema\":{\"name\":\"a\",\"schema\":{},\"strict\":\"yes\"}}", "responseFormat.jsonSchema.strict")]
    [InlineData("\"tools\":{}", "tools")]
    [InlineData("\"tools\":[1]", "tools[0]")]
    [InlineData("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", "tools[0].type")]
    [InlineData("\"tools\":[{\"type\":\"function\"}]", "tools[0].function")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get weather\"}}]", "tools[0].function.name")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"no name\"}}]", "tools[0].function.name")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":5}}]", "tools[0].function.description")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]", "tools[0].function.parameters")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools[1].function.name")]
    public async Task Read_InvalidGenerationSetting_Returns400NamingTheField(string setting, string field)
    {
        var errors = await ChatRequests.ErrorsAsync("{" + Messages + "," + setting + "}");

        Assert.Equal([field], errors.Keys);
    }
}
