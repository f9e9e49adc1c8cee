using System.Diagnostics;
using System.Text.Json;
using Functions.Tests.Infra;
using Functions.Tests.Infrastructure;

namespace Functions.Tests.ChatCompletions;

/// <summary>
/// The official <c>openai</c> npm package (installed by the build from package.json) against the local host: what an
/// SPA developer does when pointing the SDK's <c>baseURL</c> at this backend.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class OpenAISdkTests(AzuriteFixture azurite) : HostedTest(azurite)
{
    [Fact]
    public async Task TheOfficialSdk_CompletesAndStreams_AndRaisesTheBackendsErrors()
    {
        Model.Enqueue(
            FakeReply.Completion("plain answer", promptTokens: 10, completionTokens: 2, model: "gpt-4.1-mini"),
            FakeReply.Completion("streamed in pieces", promptTokens: 11, completionTokens: 3, model: "gpt-4.1-mini"),
            FakeReply.Completion("accumulated by the helper", model: "gpt-4.1-mini"),
            FakeReply.Completion("this stream breaks off", model: "gpt-4.1-mini") with { CutAfterChunks = 2 });
        await using var host = await TestHost.StartAsync(Azurite, Model.BaseUrl);

        var result = await RunNodeAsync(Path.Combine("Functions.Tests", "ChatCompletions", "openai-sdk.mjs"),
            host.Client.BaseAddress + "api/v1");

        Assert.Equal("chat.completion", result.GetProperty("completion").GetProperty("object").GetString());
        Assert.Equal("plain answer", result.GetProperty("completion").GetProperty("content").GetString());
        Assert.Equal(12, result.GetProperty("completion").GetProperty("usage").GetProperty("total_tokens").GetInt32());
        var pieces = result.GetProperty("stream").GetProperty("pieces").EnumerateArray().Select(piece => piece.GetString()).ToList();
        Assert.Equal(["streamed", " in", " pieces"], pieces);
        Assert.Equal(11, result.GetProperty("stream").GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("accumulated by the helper", result.GetProperty("helper").GetString());
        var invalid = result.GetProperty("invalid");
        Assert.Equal("BadRequestError", invalid.GetProperty("name").GetString());
        Assert.Equal("n", invalid.GetProperty("param").GetString());
        var midStream = result.GetProperty("midStream");
        Assert.Equal("APIError", midStream.GetProperty("name").GetString());
        Assert.Contains("broke off", midStream.GetProperty("message").GetString());
    }

    private static async Task<JsonElement> RunNodeAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = BicepCli.RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await standardError}");
        return JsonDocument.Parse((await standardOutput).Trim().Split('\n').Last()).RootElement.Clone();
    }
}
