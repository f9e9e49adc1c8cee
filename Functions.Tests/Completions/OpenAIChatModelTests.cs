using System.ClientModel;
using System.ClientModel.Primitives;
using Functions.Core.Completions;
using Functions.Core.Requests;
using Moq;
using Moq.Protected;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

// The factory overload with usage details is marked "for evaluation" (OPENAI001); only tests build completions by hand.
#pragma warning disable OPENAI001

namespace Functions.Tests.Completions;

public sealed class OpenAIChatModelTests
{
    private static readonly ChatRequest Request = new(
        [new Core.Requests.ChatMessage("system", "be brief"), new Core.Requests.ChatMessage("user", "hi")], "gpt-4.1-mini", 0.5, 42);

    private readonly Mock<ChatClient> chat = new();
    private readonly OpenAIChatModel model;

    public OpenAIChatModelTests()
    {
        var client = new Mock<OpenAIClient>();
        client.Setup(c => c.GetChatClient("gpt-4.1-mini")).Returns(chat.Object);
        model = new OpenAIChatModel(client.Object, TimeProvider.System);
    }

    [Fact]
    public async Task Completion_IsMappedToContentModelFinishReasonAndUsage()
    {
        IEnumerable<ChatMessage>? sent = null;
        ChatCompletionOptions? options = null;
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .Callback((IEnumerable<ChatMessage> m, ChatCompletionOptions o, CancellationToken _) => (sent, options) = (m.ToList(), o))
            .ReturnsAsync(ClientResult.FromValue(
                OpenAIChatModelFactory.ChatCompletion(
                    finishReason: ChatFinishReason.Length,
                    content: new ChatMessageContent("Hello"),
                    model: "gpt-4.1-mini-2025-04-14",
                    usage: OpenAIChatModelFactory.ChatTokenUsage(outputTokenCount: 3, inputTokenCount: 20, totalTokenCount: 23,
                        inputTokenDetails: OpenAIChatModelFactory.ChatInputTokenUsageDetails(cachedTokenCount: 16))),
                Mock.Of<PipelineResponse>()));

        var result = await model.CompleteAsync(Request, CancellationToken.None);

        Assert.Equal("Hello", result.Content);
        Assert.Equal("gpt-4.1-mini-2025-04-14", result.Model);
        Assert.Equal("length", result.FinishReason);
        Assert.Equal(new Core.Jobs.TokenUsage(20, 16, 3), result.Usage);
        Assert.Collection(sent!, m => Assert.IsType<SystemChatMessage>(m), m => Assert.IsType<UserChatMessage>(m));
        Assert.Equal(0.5f, options!.Temperature);
        Assert.Equal(42, options.MaxOutputTokenCount);
    }

    [Theory]
    [InlineData(400, """{"error":{"code":"context_length_exceeded","type":"invalid_request_error"}}""", "model_rejected_request", false)]
    [InlineData(401, """{"error":{"code":"invalid_api_key","message":"Incorrect API key provided: sk-abc...xyz"}}""", "model_unauthorized", false)]
    [InlineData(403, "", "model_forbidden", false)]
    [InlineData(404, """{"error":{"code":"model_not_found"}}""", "model_not_found", false)]
    [InlineData(422, "not json", "model_rejected_request", false)]
    [InlineData(429, """{"error":{"code":"insufficient_quota","type":"insufficient_quota"}}""", "insufficient_quota", false)]
    [InlineData(429, """{"error":{"code":"rate_limit_exceeded"}}""", "rate_limited", true)]
    [InlineData(408, "", "upstream_error", true)]
    [InlineData(500, "", "upstream_error", true)]
    [InlineData(502, "<html>bad gateway</html>", "upstream_error", true)]
    [InlineData(503, "", "upstream_error", true)]
    [InlineData(504, "", "upstream_error", true)]
    [InlineData(409, "", "model_error", false)]
    [InlineData(501, "", "model_error", false)]
    public async Task HttpFailure_IsClassifiedByStatusAndUpstreamCode(int status, string body, string code, bool transient)
    {
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new ClientResultException(Response(status, body)));

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal(code, failure.Code);
        Assert.Equal(transient, failure.IsTransient);
        Assert.Equal(status, failure.Status);
        Assert.Contains($"HTTP {status}", failure.Message);
        Assert.DoesNotContain("sk-", failure.Message); // never quotes the upstream message, which may echo key fragments
    }

    [Fact]
    public async Task NoResponseAtAll_IsUnreachable_AndTransient()
    {
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new ClientResultException(Response(0, "")));

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("upstream_unreachable", failure.Code);
        Assert.True(failure.IsTransient);
    }

    [Fact]
    public async Task TransportFailure_IsTransient()
    {
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new HttpRequestException("connection reset"));

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("upstream_unreachable", failure.Code);
        Assert.True(failure.IsTransient);
    }

    [Fact]
    public async Task NetworkTimeout_IsTransient_ButCallerCancellationIsNot()
    {
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new TaskCanceledException("timed out"));

        var timeout = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));
        Assert.Equal("upstream_timeout", timeout.Code);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAsync<TaskCanceledException>(() => model.CompleteAsync(Request, cancelled.Token));
    }

    [Fact]
    public async Task RateLimit_CarriesTheServersRetryHint()
    {
        chat.Setup(c => c.CompleteChatAsync(It.IsAny<IEnumerable<ChatMessage>>(), It.IsAny<ChatCompletionOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new ClientResultException(Response(429, """{"error":{"code":"rate_limit_exceeded"}}""",
                new Dictionary<string, string> { ["retry-after-ms"] = "1500", ["retry-after"] = "1" })));

        var failure = await Assert.ThrowsAsync<ModelCallException>(() => model.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), failure.RetryAfter);
    }

    private static PipelineResponse Response(int status, string body, Dictionary<string, string>? headers = null)
    {
        var response = new Mock<PipelineResponse>();
        response.SetupGet(r => r.Status).Returns(status);
        response.SetupGet(r => r.ReasonPhrase).Returns("scripted");
        response.SetupGet(r => r.Content).Returns(BinaryData.FromString(body));
        response.Protected().SetupGet<PipelineResponseHeaders>("HeadersCore").Returns(new HeaderStub(headers ?? []));
        return response.Object;
    }

    private sealed class HeaderStub(Dictionary<string, string> headers) : PipelineResponseHeaders
    {
        public override bool TryGetValue(string name, out string? value) => headers.TryGetValue(name, out value);

        public override bool TryGetValues(string name, out IEnumerable<string>? values)
        {
            values = headers.TryGetValue(name, out var value) ? [value] : null;
            return values is not null;
        }

        public override IEnumerator<KeyValuePair<string, string>> GetEnumerator() => headers.GetEnumerator();
    }
}
