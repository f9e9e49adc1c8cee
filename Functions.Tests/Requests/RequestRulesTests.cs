using System.Text;
using Functions.Core.Completions;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Requests;

/// <summary>No silent drops: what a filter reads of a request is what the model is sent, or the request is refused.</summary>
public sealed class RequestRulesTests
{
    private static readonly ChatRequestReader Reader = new(Options.Create(new RequestLimitsOptions()),
        Options.Create(new OpenAIOptions { ApiKey = "k", DefaultModel = "gpt-4.1-mini" }));

    private static Task<(ChatRequest? Request, IResult? Problem)> ReadAsync(string body, string contentType = "application/json",
        Stream? stream = null)
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = contentType;
        request.Body = stream ?? new MemoryStream(Encoding.UTF8.GetBytes(body));
        return Reader.ReadAsync(request, CancellationToken.None);
    }

    private static async Task<IDictionary<string, string[]>> ErrorsAsync(string body)
    {
        var (request, problem) = await ReadAsync(body);
        Assert.Null(request);
        return Assert.IsType<ValidationProblem>(problem).ProblemDetails.Errors;
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","role":"system","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","r\u006fle":"system","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"model":"gpt-4.1-mini","model":"gpt-4o"}""", "model")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"messages":[{"role":"system","content":"y"}]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"responseFormat":{"type":"json_schema","jsonSchema":{"name":"a","schema":{"a":1,"a":2}}}}""",
        "responseFormat.jsonSchema.schema.a")]
    public async Task DuplicateKey_Is400NamingTheField(string body, string field)
    {
        var errors = await ErrorsAsync(body);

        Assert.Equal(field, Assert.Single(errors).Key);
        Assert.Contains("more than once", errors[field][0]);
    }

    [Theory]
    [InlineData("max_tokens", "100", "maxTokens")]
    [InlineData("max_completion_tokens", "100", "maxTokens")]
    [InlineData("top_p", "0.5", "topP")]
    [InlineData("response_format", """{"type":"json_object"}""", "responseFormat")]
    [InlineData("MaxTokens", "100", "maxTokens")]
    public async Task SnakeCaseAlias_Is400WithTheCamelCaseName(string field, string value, string meant)
    {
        var errors = await ErrorsAsync($$"""{"messages":[{"role":"user","content":"x"}],"{{field}}":{{value}}}""");

        Assert.Equal(field, Assert.Single(errors).Key);
        Assert.Contains($"'{meant}'", errors[field][0]);
    }

    [Theory]
    [InlineData("stream", "true")]
    [InlineData("n", "2")]
    [InlineData("frequency_penalty", "0.5")]
    public async Task UnknownField_Is400NamingIt(string field, string value)
    {
        var errors = await ErrorsAsync($$"""{"messages":[{"role":"user","content":"x"}],"{{field}}":{{value}}}""");

        Assert.Equal(field, Assert.Single(errors).Key);
        Assert.StartsWith("Unknown field.", errors[field][0]);
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x","name":"bob"}]}""", "messages[0].name")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"responseFormat":{"type":"json_schema","json_schema":{"name":"a","schema":{}}}}""",
        "responseFormat.json_schema")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","strict":true}}]}""",
        "tools[0].function.strict")]
    public async Task UnknownNestedField_Is400NamingItsPath(string body, string field)
    {
        var errors = await ErrorsAsync(body);

        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public async Task UnknownFieldWithAnOddName_IsNotEchoedBack()
    {
        var errors = await ErrorsAsync("""{"messages":[{"role":"user","content":"x"}],"<script>alert(1)</script>":1}""");

        var (field, messages) = Assert.Single(errors);
        Assert.DoesNotContain("script", field + string.Concat(messages));
    }

    [Theory]
    [InlineData("\\u200b")]
    [InlineData("\\u0000")]
    [InlineData(" \\u200b\\t\\u200d\\ufeff ")]
    [InlineData("\\u3164\\u2800")]
    [InlineData("\\u0301\\ufe0f")]
    public async Task ContentWithNoVisibleCharacter_Is400(string content)
    {
        var errors = await ErrorsAsync($$"""{"messages":[{"role":"user","content":"{{content}}"}]}""");

        Assert.Contains("visible character", Assert.Single(errors["messages[0].content"]));
    }

    [Theory]
    [InlineData("a\\u200b")]
    [InlineData("\\u4f60")]
    [InlineData("\\ud83d\\ude00")]
    [InlineData("e\\u0301")]
    public async Task ContentWithAVisibleCharacter_IsAccepted(string content)
    {
        var (request, problem) = await ReadAsync($$"""{"messages":[{"role":"user","content":"{{content}}"}]}""");

        Assert.Null(problem);
        Assert.NotNull(request);
    }

    [Theory]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json; charset=iso-8859-1")]
    [InlineData("application/json; charset=utf-16")]
    public async Task CharsetOtherThanUtf8_Is415(string contentType)
    {
        var (request, problem) = await ReadAsync("""{"messages":[{"role":"user","content":"x"}]}""", contentType);

        Assert.Null(request);
        var result = Assert.IsType<ProblemHttpResult>(problem);
        Assert.Equal(StatusCodes.Status415UnsupportedMediaType, result.StatusCode);
        Assert.DoesNotContain("latin1", result.ProblemDetails.Detail);
    }

    [Theory]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=utf8")]
    public async Task Utf8Charset_IsAccepted(string contentType)
    {
        var (_, problem) = await ReadAsync("""{"messages":[{"role":"user","content":"x"}]}""", contentType);

        Assert.Null(problem);
    }

    [Theory]
    [InlineData(StatusCodes.Status400BadRequest)]
    [InlineData(StatusCodes.Status408RequestTimeout)]
    public async Task BodyTheServerCannotRead_IsThatClientErrorAsProblem(int status)
    {
        var (request, problem) = await ReadAsync("", stream: new FailingStream(new BadHttpRequestException("broken", status)));

        Assert.Null(request);
        Assert.Equal(status, Assert.IsType<ProblemHttpResult>(problem).StatusCode);
    }

    [Fact]
    public void SnakeToCamel_JoinsTheWords() => Assert.Equal("maxCompletionTokens", JsonRules.SnakeToCamel("max_completion_tokens"));

    private sealed class FailingStream(Exception error) : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(error);
    }
}
