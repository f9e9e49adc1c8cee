using System.Collections;
using System.Reflection;

namespace Functions.Tests.Infra;

/// <summary>
/// The app settings the code's options read, derived by reflection: every type with a
/// <c>public const string SectionName</c> contributes <c>Section__Property</c> for each public settable property.
/// Adding an options class (or a property) therefore adds a setting the infrastructure must provide.
/// </summary>
internal static class OptionsSettings
{
    public static IReadOnlyList<string> Read(Assembly assembly) =>
        assembly.GetTypes()
            .Select(type => (Type: type, Section: SectionName(type)))
            .Where(options => options.Section is not null)
            .SelectMany(options => ForType(options.Type, options.Section!))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// The settings one options type binds from <paramref name="sectionName"/>. App setting names cannot contain ':';
    /// the configuration system reads '__' as the section separator.
    /// </summary>
    public static IReadOnlyList<string> ForType(Type type, string sectionName) =>
        Settings(type, sectionName.Replace(":", "__")).Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="settings"/> provides <paramref name="setting"/>, directly or, for a collection, as indexed children.</summary>
    public static bool IsProvided(string setting, IEnumerable<string> settings) =>
        settings.Any(name => name == setting || name.StartsWith(setting + "__", StringComparison.Ordinal));

    private static string? SectionName(Type type) =>
        type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field && field.FieldType == typeof(string)
            ? (string?)field.GetRawConstantValue()
            : null;

    private static IEnumerable<string> Settings(Type type, string prefix) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            // Get-only and computed properties (e.g. AllowedModelSet) are not bound from configuration.
            .Where(property => property.SetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            .SelectMany(property => IsSingleValue(property.PropertyType) || IsCollection(property.PropertyType)
                ? [$"{prefix}__{property.Name}"]
                : Settings(property.PropertyType, $"{prefix}__{property.Name}"));

    private static bool IsSingleValue(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(Uri)
            || type == typeof(TimeSpan) || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid);
    }

    private static bool IsCollection(Type type) => typeof(IEnumerable).IsAssignableFrom(type);
}
