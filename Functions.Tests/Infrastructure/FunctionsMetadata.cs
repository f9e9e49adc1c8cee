using System.Text.Json;

namespace Functions.Tests.Infrastructure;

/// <summary>
/// The functions.metadata the Worker SDK generates from the Functions app's attributes at build time (copied next to the
/// tests by the project reference): what the Functions host indexes, binding by binding.
/// </summary>
public sealed record FunctionsMetadata(string Name, string EntryPoint, IReadOnlyList<FunctionBinding> Bindings)
{
    public FunctionBinding Trigger => Bindings.Single(binding => binding.Type.EndsWith("Trigger", StringComparison.Ordinal));

    public static IReadOnlyList<FunctionsMetadata> Read()
    {
        using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "functions.metadata")));
        return file.RootElement.EnumerateArray().Select(function => new FunctionsMetadata(
            function.GetProperty("name").GetString()!,
            function.GetProperty("entryPoint").GetString()!,
            function.GetProperty("bindings").EnumerateArray().Select(FunctionBinding.From).ToList())).ToList();
    }
}

public sealed record FunctionBinding(string Name, string Type, string Direction, string? Route, IReadOnlyList<string> Methods,
    string? QueueName, string? Schedule)
{
    public static FunctionBinding From(JsonElement binding) => new(
        binding.GetProperty("name").GetString()!,
        binding.GetProperty("type").GetString()!,
        binding.GetProperty("direction").GetString()!,
        Text(binding, "route"),
        binding.TryGetProperty("methods", out var methods) ? methods.EnumerateArray().Select(m => m.GetString()!).ToList() : [],
        Text(binding, "queueName"),
        Text(binding, "schedule"));

    private static string? Text(JsonElement binding, string name) =>
        binding.TryGetProperty(name, out var value) ? value.GetString() : null;
}
