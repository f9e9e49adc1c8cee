using System.Text;
using Functions.Core.Completions;
using Functions.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Functions.Tests.Requests;

public sealed class ChatRequestReaderTests
{
    private static readonly RequestLimitsOptions Limits = new()
    {
        MaxBodyBytes = 4096, MaxMessages = 3, MaxMessageChars = 100, MaxTotalChars = 150, MaxOutputTokens = 500,
    };

    private static readonly ChatRequestReader Reader = new(
        Options.Create(Limits),
        Options.Create(new OpenAIOptions { ApiKey = "k", DefaultModel = "gpt-4.1-mini", AllowedModels = "gpt-4o-mini, gpt-4.1-nano" }));

    private static Task<(ChatRequest? Request, IResult? Problem)> ReadAsync(string body, string? contentType = "application/json",
        bool declareLength = true)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new DefaultHttpContext().Request;
        request.ContentType = contentType;
        request.ContentLength = declareLength ? bytes.Length : null;
        request.Body = new MemoryStream(bytes);
        return Reader.ReadAsync(request, CancellationToken.None);
    }

    private const string Valid = """{"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task ValidMinimalRequest_UsesTheDefaultModelAndNoParameters()
    {
        var (request, problem) = await ReadAsync(Valid);

        Assert.Null(problem);
        Assert.NotNull(request);
        Assert.Equal("gpt-4.1-mini", request.Model);
        Assert.Equal([new ChatMessage("user", "hi")], request.Messages);
        Assert.Null(request.Temperature);
        Assert.Null(request.MaxTokens);
    }

    [Fact]
    public async Task ValidFullRequest_KeepsEveryValue()
    {
        var (request, _) = await ReadAsync("""
            {"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}],
             "model":"gpt-4o-mini","temperature":2,"maxTokens":500}
            """);

        Assert.NotNull(request);
        Assert.Equal("gpt-4o-mini", request.Model);
        Assert.Equal(["system", "user", "assistant"], request.Messages.Select(m => m.Role));
        Assert.Equal(2, request.Temperature);
        Assert.Equal(500, request.MaxTokens);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/merge-patch+json")]
    [InlineData("APPLICATION/JSON")]
    public async Task JsonMediaTypes_AreAccepted(string contentType)
    {
        var (request, problem) = await ReadAsync(Valid, contentType);

        Assert.Null(problem);
        Assert.NotNull(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task NonJsonContentType_Is415(string? contentType)
    {
        var (request, problem) = await ReadAsync(Valid, contentType);

        Assert.Null(request);
        Assert.Equal(StatusCodes.Status415UnsupportedMediaType, Assert.IsType<ProblemHttpResult>(problem).StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // chunked: no Content-Length, the reader must still stop at the limit
    public async Task BodyOverTheLimit_Is413(bool declareLength)
    {
        var body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', Limits.MaxBodyBytes) + "\"}]}";

        var (request, problem) = await ReadAsync(body, declareLength: declareLength);

        Assert.Null(request);
        var result = Assert.IsType<ProblemHttpResult>(problem);
        Assert.Equal(StatusCodes.Status413PayloadTooLarge, result.StatusCode);
        Assert.Equal((long)Limits.MaxBodyBytes, result.ProblemDetails.Extensions["maxBytes"]);
    }

    [Theory]
    [InlineData("", 1, 0)]
    [InlineData("{", 1, 1)]
    [InlineData("{\"messages\": [", 1, 14)]
    [InlineData("{\n  \"messages\": [}\n", 2, 15)]
    [InlineData("{'messages': []}", 1, 1)]
    public async Task MalformedJson_Is400WithTheLineAndPosition(string body, long line, long position)
    {
        var (request, problem) = await ReadAsync(body);

        Assert.Null(request);
        var result = Assert.IsType<ProblemHttpResult>(problem);
        Assert.Equal(StatusCodes.Status400BadRequest, result.StatusCode);
        Assert.Equal(line, result.ProblemDetails.Extensions["line"]);
        Assert.Equal(position, result.ProblemDetails.Extensions["bytePositionInLine"]);
        Assert.Contains($"line {line}", result.ProblemDetails.Detail);
    }

    public static TheoryData<string, string, string> InvalidFields => new()
    {
        { "[]", "$", "JSON object" },
        { "{}", "messages", "Required" },
        { """{"messages":null}""", "messages", "Required" },
        { """{"messages":"hi"}""", "messages", "array" },
        { """{"messages":[]}""", "messages", "1 to 3" },
        { """{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"},{"role":"user","content":"d"}]}""", "messages", "1 to 3" },
        { """{"messages":["hi"]}""", "messages[0]", "object" },
        { """{"messages":[{"content":"hi"}]}""", "messages[0].role", "system, user, assistant" },
        { """{"messages":[{"role":"function","content":"hi"}]}""", "messages[0].role", "system, user, assistant, tool" },
        { """{"messages":[{"role":"tool","content":"42"}]}""", "messages[0].toolCallId", "the id of the tool call" },
        { """{"messages":[{"role":"user","content":"hi","toolCallId":"c1"}]}""", "messages[0].toolCallId", "Only allowed on a tool message" },
        { """{"messages":[{"role":"user","content":"hi","toolCalls":[]}]}""", "messages[0].toolCalls", "Only allowed on an assistant message" },
        { """{"messages":[{"role":"user","content":"hi"}],"toolChoice":"required"}""", "toolChoice", "Needs 'tools'" },
        { """{"messages":[{"role":"user","content":"hi"}],"user":""}""", "user", "1 to 256 characters" },
        { """{"messages":[{"role":"User","content":"hi"}]}""", "messages[0].role", "system, user, assistant" },
        { """{"messages":[{"role":7,"content":"hi"}]}""", "messages[0].role", "system, user, assistant" },
        { """{"messages":[{"role":"user"}]}""", "messages[0].content", "Required" },
        { """{"messages":[{"role":"user","content":42}]}""", "messages[0].content", "Required" },
        { """{"messages":[{"role":"user","content":""}]}""", "messages[0].content", "empty" },
        { """{"messages":[{"role":"user","content":"   \n"}]}""", "messages[0].content", "empty" },
        { "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 101) + "\"}]}", "messages[0].content", "at most 100" },
        { "{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 80) + "\"},{\"role\":\"user\",\"content\":\"" + new string('y', 80) + "\"}]}", "messages", "total at most 150" },
        { """{"messages":[{"role":"user","content":"hi"}],"model":"gpt-5-pro"}""", "model", "gpt-4.1-mini, gpt-4.1-nano, gpt-4o-mini" },
        { """{"messages":[{"role":"user","content":"hi"}],"model":3}""", "model", "string" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":-0.1}""", "temperature", "0 to 2" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":2.01}""", "temperature", "0 to 2" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature", "0 to 2" },
        { """{"messages":[{"role":"user","content":"hi"}],"maxTokens":0}""", "maxTokens", "1 to 500" },
        { """{"messages":[{"role":"user","content":"hi"}],"maxTokens":501}""", "maxTokens", "1 to 500" },
        { """{"messages":[{"role":"user","content":"hi"}],"maxTokens":1.5}""", "maxTokens", "1 to 500" },
        { """{"messages":[{"role":"user","content":"hi"}],"maxTokens":"10"}""", "maxTokens", "1 to 500" },
    };

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public async Task InvalidField_Is400NamingThatField(string body, string field, string reason)
    {
        var (request, problem) = await ReadAsync(body);

        Assert.Null(request);
        var result = Assert.IsType<ValidationProblem>(problem);
        Assert.Equal(StatusCodes.Status400BadRequest, result.StatusCode);
        Assert.True(result.ProblemDetails.Errors.TryGetValue(field, out var messages),
            $"Expected an error for '{field}', got: {string.Join(", ", result.ProblemDetails.Errors.Keys)}");
        Assert.Contains(reason, Assert.Single(messages));
    }

    [Fact]
    public async Task SeveralBadFields_AreAllNamedInOneProblem()
    {
        var (_, problem) = await ReadAsync("""
            {"messages":[{"role":"bot","content":""},{"role":"user","content":"ok"}],"model":"nope","temperature":9,"maxTokens":-1}
            """);

        var errors = Assert.IsType<ValidationProblem>(problem).ProblemDetails.Errors;
        Assert.Equal(
            ["maxTokens", "messages[0].content", "messages[0].role", "model", "temperature"],
            errors.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"\ud800"}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"ok"}],"model":"\udfff"}""", "model")]
    [InlineData("""{"messages":[{"role":"\ud800x","content":"ok"}]}""", "messages[0].role")]
    public async Task UnpairedSurrogate_Is400NamingTheField_NotA500(string body, string field)
    {
        var (request, problem) = await ReadAsync(body);

        Assert.Null(request);
        var errors = Assert.IsType<ValidationProblem>(problem).ProblemDetails.Errors;
        Assert.Contains("valid Unicode", Assert.Single(errors[field]));
    }

    [Fact]
    public async Task InvalidUtf8InsideAString_Is400_NotA500()
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"AB"}]}""");
        bytes[Array.IndexOf(bytes, (byte)'A')] = 0xC3; // a lead byte followed by 'B': not UTF-8
        request.Body = new MemoryStream(bytes);

        var (parsed, problem) = await Reader.ReadAsync(request, CancellationToken.None);

        Assert.Null(parsed);
        Assert.Equal(StatusCodes.Status400BadRequest, problem switch
        {
            ValidationProblem validation => validation.StatusCode,
            ProblemHttpResult malformed => malformed.StatusCode,
            _ => 0,
        });
    }

    [Fact]
    public async Task NullOptionalFields_AreTreatedAsAbsent()
    {
        var (request, problem) = await ReadAsync("""
            {"messages":[{"role":"user","content":"hi"}],"model":null,"temperature":null,"maxTokens":null}
            """);

        Assert.Null(problem);
        Assert.Equal("gpt-4.1-mini", request!.Model);
    }
}
