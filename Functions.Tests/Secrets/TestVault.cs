using Azure;
using Azure.Security.KeyVault.Secrets;
using Moq;
using Moq.Language;

namespace Functions.Tests.Secrets;

/// <summary>A Moq <see cref="SecretClient"/> scripted per secret with the SDK's own model factory.</summary>
internal static class TestVault
{
    public static readonly Uri Uri = new("https://test-vault.vault.azure.net/");

    public const string OpenAIKeySecret = "openai-api-key";

    /// <summary>Settings that make the vault the source of the OpenAI key (and no key in configuration).</summary>
    public static Dictionary<string, string?> Settings(Uri? vaultUri = null) => new()
    {
        ["KeyVault:VaultUri"] = (vaultUri ?? Uri).ToString(),
        ["KeyVault:Secrets:OpenAIApiKey"] = OpenAIKeySecret,
        ["OpenAI:ApiKey"] = null,
    };

    public static Response<KeyVaultSecret> Secret(string name, string value) =>
        Response.FromValue(SecretModelFactory.KeyVaultSecret(SecretModelFactory.SecretProperties(name: name), value), Mock.Of<Response>());

    /// <summary>Answers for successive reads of <paramref name="secretName"/>.</summary>
    public static ISetupSequentialResult<Task<Response<KeyVaultSecret>>> SetupReads(this Mock<SecretClient> vault, string secretName) =>
        vault.SetupSequence(client => client.GetSecretAsync(secretName, It.IsAny<string>(), It.IsAny<SecretContentType?>(), It.IsAny<CancellationToken>()));

    /// <summary>Successive reads of the OpenAI key's secret return <paramref name="values"/> in order; more answers may follow.</summary>
    public static ISetupSequentialResult<Task<Response<KeyVaultSecret>>> SetupKeyReads(this Mock<SecretClient> vault, params string[] values)
    {
        var reads = vault.SetupReads(OpenAIKeySecret);
        foreach (var value in values)
        {
            reads = reads.ReturnsAsync(Secret(OpenAIKeySecret, value));
        }
        return reads;
    }

    public static void VerifyReads(this Mock<SecretClient> vault, string secretName, int times) =>
        vault.Verify(client => client.GetSecretAsync(secretName, It.IsAny<string>(), It.IsAny<SecretContentType?>(), It.IsAny<CancellationToken>()),
            Times.Exactly(times));
}
