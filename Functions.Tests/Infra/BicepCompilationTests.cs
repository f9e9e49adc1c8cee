using System.Text.Json;
using System.Text.Json.Nodes;

namespace Functions.Tests.Infra;

/// <summary>infra/main.bicep compiles offline and passes every linter rule, none of them silenced.</summary>
[Collection(InfraCollection.Name)]
public sealed class BicepCompilationTests(BicepTemplateFixture bicep)
{
    // Rules Bicep leaves off by default; bicepconfig.json turns them on.
    private static readonly string[] RulesOffByDefault =
    [
        "explicit-values-for-loc-params", "no-hardcoded-location", "no-loc-expr-outside-params", "use-recent-api-versions",
        "use-resource-id-functions", "use-user-defined-types", "what-if-short-circuiting",
    ];

    [Fact]
    public void Build_CompilesMainTemplate()
    {
        Assert.True(bicep.Build.ExitCode == 0, $"bicep build infra/main.bicep failed:{Environment.NewLine}{bicep.Build.StandardError}");
    }

    [Fact]
    public void Lint_ReportsNoErrorsOrWarnings()
    {
        var diagnostics = LintDiagnostics.Read(bicep.Lint);

        Assert.True(diagnostics.Count == 0,
            $"bicep lint infra/main.bicep reported {diagnostics.Count} diagnostic(s):{Environment.NewLine}{string.Join(Environment.NewLine, diagnostics)}");
    }

    [Fact]
    public async Task Lint_WhenATemplateBreaksARule_ReportsIt()
    {
        // Proves the SARIF reading above sees warnings, so a clean result means a clean template.
        var folder = Directory.CreateTempSubdirectory("bicep-lint-");
        try
        {
            var file = Path.Combine(folder.FullName, "unused.bicep");
            await File.WriteAllTextAsync(file, "param unused string\n");

            var diagnostics = LintDiagnostics.Read(await BicepCli.RunAsync("lint", file, "--diagnostics-format", "sarif"));

            Assert.Contains(diagnostics, diagnostic => diagnostic.Contains("no-unused-params", StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void BicepConfig_KeepsEveryLinterRuleAtWarningOrError()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(BicepTemplateFixture.InfraFolder, "bicepconfig.json")),
            documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!;
        var core = config["analyzers"]?["core"];
        var rules = core?["rules"]?.AsObject() ?? [];

        Assert.NotEqual(false, core?["enabled"]?.GetValue<bool>());
        var weakened = rules
            .Select(rule => (Name: rule.Key, Level: rule.Value?["level"]?.GetValue<string>()))
            .Where(rule => rule.Level is not ("warning" or "error"))
            .Select(rule => $"{rule.Name}: {rule.Level ?? "(no level)"}");
        Assert.Empty(weakened);
        Assert.All(RulesOffByDefault, rule => Assert.True(rules.ContainsKey(rule), $"bicepconfig.json should turn on '{rule}'."));
    }
}

/// <summary>Diagnostics from <c>bicep lint --diagnostics-format sarif</c>, one line each.</summary>
internal static class LintDiagnostics
{
    public static IReadOnlyList<string> Read(BicepResult lint)
    {
        JsonNode? sarif;
        try
        {
            sarif = JsonNode.Parse(lint.StandardOutput);
        }
        catch (JsonException)
        {
            sarif = null;
        }

        if (sarif?["runs"] is not JsonArray runs)
        {
            throw new InvalidOperationException(
                $"bicep lint produced no SARIF (exit code {lint.ExitCode}):{Environment.NewLine}{lint.StandardError}{lint.StandardOutput}");
        }

        return runs.SelectMany(run => run?["results"]?.AsArray() ?? []).OfType<JsonNode>().Select(Describe).ToList();
    }

    private static string Describe(JsonNode result)
    {
        var location = result["locations"]?[0]?["physicalLocation"];
        var file = location?["artifactLocation"]?["uri"]?.GetValue<string>();
        var line = location?["region"]?["startLine"];
        // SARIF leaves out "level" when it is the default, warning.
        return $"{file}({line}): {result["level"]?.ToString() ?? "warning"} {result["ruleId"]}: {result["message"]?["text"]}";
    }
}
