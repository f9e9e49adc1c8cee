using System.Reflection;
using System.Text.RegularExpressions;
using Functions.Core.Secrets;
using Microsoft.Extensions.Options;

namespace Functions.Core.Settings;

/// <summary>
/// Turns what stopped start-up into the one line an operator needs: the setting's name (in the <c>Section__Key</c> form
/// app settings use) and what is wrong with it, never its value. Anything that is not a settings problem is not
/// described (null), so a bug keeps its stack trace.
/// </summary>
public static partial class StartupFailure
{
    public static string? Describe(Exception exception)
    {
        switch (exception)
        {
            case AggregateException { InnerExceptions.Count: > 0 } aggregate:
                return aggregate.InnerExceptions.Select(Describe).FirstOrDefault(line => line is not null);
            case TargetInvocationException { InnerException: { } inner }:
                return Describe(inner);
            case InvalidSettingException invalid:
                return $"Invalid setting: {invalid.Message}";
            case SecretUnavailableException secret:
                return $"Secret unavailable: {secret.Message}";
            case OptionsValidationException validation:
                return $"Invalid setting: {string.Join("; ", validation.Failures.Select(failure => Failure(validation.OptionsType, failure)))}";
            case InvalidOperationException { Message: var message } when UnconvertibleValue().Match(message) is { Success: true } match:
                return $"Invalid setting: {AppSetting(match.Groups["key"].Value)} must be {Expected(match.Groups["type"].Value)}.";
            default:
                return exception.InnerException is { } cause && exception is InvalidOperationException ? Describe(cause) : null;
        }
    }

    /// <summary><c>OpenAI:ApiKey</c> → <c>OpenAI__ApiKey</c>, the name as an app setting or environment variable.</summary>
    public static string AppSetting(string configurationKey) => configurationKey.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>DataAnnotations' "members: 'MaxMessages' with the error: '…'" becomes "Requests__MaxMessages: …".</summary>
    private static string Failure(Type optionsType, string failure)
    {
        var section = optionsType.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string;
        if (AnnotationFailure().Match(failure) is { Success: true } match && section is not null)
        {
            // The error may name the exact setting (OpenAI:Endpoints:0:ApiKey): in the form an operator sets it, too.
            return $"{section}__{match.Groups["member"].Value}: {AppSettingNames().Replace(match.Groups["error"].Value.TrimEnd('.'), m => AppSetting(m.Value))}";
        }
        return failure.Replace(":", "__", StringComparison.Ordinal) is var named && section is not null && !named.Contains(section, StringComparison.Ordinal)
            ? $"{section}: {failure}"
            : AppSettingNames().Replace(failure, m => AppSetting(m.Value));
    }

    private static string Expected(string type) => type switch
    {
        _ when type.Contains("Decimal", StringComparison.Ordinal) || type.Contains("Double", StringComparison.Ordinal) => "a number (such as 12.5)",
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("TimeSpan", StringComparison.Ordinal) => "a duration as [d.]hh:mm:ss (such as 00:05:00)",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when type.Contains("Uri", StringComparison.Ordinal) => "an absolute URI",
        _ when type.Contains("DateTimeOffset", StringComparison.Ordinal) => "a date and time (such as 2026-01-01T00:00:00Z)",
        _ => $"a valid {type[(type.LastIndexOf('.') + 1)..].TrimEnd(']')}",
    };

    [GeneratedRegex("^Failed to convert configuration value .* at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex UnconvertibleValue();

    [GeneratedRegex("members: '(?<member>[^']+)' with the error: '(?<error>.*)'", RegexOptions.Singleline)]
    private static partial Regex AnnotationFailure();

    /// <summary>Setting names written <c>Section:Key</c> in a validation message.</summary>
    [GeneratedRegex(@"\b[A-Z][A-Za-z]+(:[A-Za-z0-9]+)+\b")]
    private static partial Regex AppSettingNames();
}
