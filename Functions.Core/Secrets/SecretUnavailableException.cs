namespace Functions.Core.Secrets;

/// <summary>A secret that could not be read. The message names the vault and the secret, never a value.</summary>
public sealed class SecretUnavailableException(string name, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The logical name (<see cref="SecretNames"/>).</summary>
    public string Name { get; } = name;
}
