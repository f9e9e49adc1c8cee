using System.Text.RegularExpressions;

namespace Functions.Tests.Infra;

/// <summary>The app's identity holds exactly the data roles it needs; the deploying user's roles are optional.</summary>
[Collection(InfraCollection.Name)]
public sealed partial class RoleAssignmentTests(BicepTemplateFixture bicep)
{
    private const string UserAssignedIdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";
    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";

    /// <summary>Role name, built-in role definition id (the same in every tenant), type of the resource it is granted on.</summary>
    public static TheoryData<string, string, string> AppRoles => new()
    {
        { "Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts" },
        { "Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts" },
        { "Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts" },
        { "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "Microsoft.KeyVault/vaults" },
        { "Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components" },
    };

    private IReadOnlyList<ArmResource> Assignments => bicep.Template.OfType("Microsoft.Authorization/roleAssignments").ToList();

    private IEnumerable<ArmResource> AppAssignments =>
        Assignments.Where(assignment => assignment.Text("properties.principalId")!.Contains(UserAssignedIdentityType, StringComparison.Ordinal));

    private IEnumerable<ArmResource> UserAssignments => Assignments.Except(AppAssignments);

    [Theory]
    [MemberData(nameof(AppRoles))]
    public void CompiledTemplate_GrantsTheAppIdentityEveryRoleItNeeds(string role, string roleDefinitionId, string scopeType)
    {
        var grants = AppAssignments.Where(assignment => RoleOf(assignment) == roleDefinitionId).ToList();

        Assert.True(grants.Count == 1, $"The app's identity should hold {role} ({roleDefinitionId}) once; it holds it {grants.Count} time(s).");
        var grant = grants[0];
        Assert.True(grant.Conditions.Count == 0, $"{role} for the app is deployed only if {string.Join(" and ", grant.Conditions)}.");
        Assert.Contains($"'{scopeType}'", grant.Text("scope"));
        Assert.Equal("ServicePrincipal", grant.Text("properties.principalType"));
    }

    [Fact]
    public void RoleAssignments_AreNamedFromScopePrincipalAndRole()
    {
        // guid(scope, principal, role): the same grant keeps its name on every deployment, and two grants never collide.
        Assert.NotEmpty(Assignments);
        Assert.All(Assignments, assignment =>
        {
            var name = assignment.Name;
            Assert.StartsWith("[guid(", name);
            Assert.Contains(Inner(assignment.Text("scope")!), name);
            Assert.Contains(PrincipalOf(assignment), name);
            Assert.Contains(Inner(assignment.Text("properties.roleDefinitionId")!), name);
        });
    }

    [Fact]
    public void RoleAssignments_GrantOnlyDataRoles()
    {
        // No Owner, Contributor, User Access Administrator or account-key roles: a new role is a conscious change here.
        string[] allowed = [.. AppRoles.Select(row => (string)row[1]), KeyVaultSecretsOfficer];

        var others = Assignments.Where(assignment => !allowed.Contains(RoleOf(assignment))).Select(assignment => assignment.Name);

        Assert.True(!others.Any(), $"Role assignments outside the data roles: {string.Join("; ", others)}");
    }

    [Fact]
    public void DeployingUser_GetsTheDataRolesAndSecretsOfficer_OnlyWhenAPrincipalIsGiven()
    {
        var user = UserAssignments.ToList();

        Assert.All(user, assignment => Assert.NotEmpty(assignment.Conditions));
        Assert.Contains(user, assignment => RoleOf(assignment) == KeyVaultSecretsOfficer && assignment.Text("scope")!.Contains("Microsoft.KeyVault/vaults"));
        Assert.All(AppRoles.Select(row => (Role: (string)row[1], Scope: (string)row[2])).Where(role => role.Scope == "Microsoft.Storage/storageAccounts"),
            role => Assert.Contains(user, assignment => RoleOf(assignment) == role.Role));
    }

    private static string RoleOf(ArmResource assignment) =>
        RoleDefinitionId().Match(assignment.Text("properties.roleDefinitionId") ?? "") is { Success: true } match ? match.Groups[1].Value : "";

    /// <summary>What identifies the principal: the identity's resource id for the app, the principal id parameter for a user.</summary>
    private static string PrincipalOf(ArmResource assignment)
    {
        var principalId = Inner(assignment.Text("properties.principalId")!);
        return ReferencedResource().Match(principalId) is { Success: true } match ? match.Groups[1].Value : principalId;
    }

    private static string Inner(string expression) =>
        expression.StartsWith('[') && expression.EndsWith(']') ? expression[1..^1] : expression;

    [GeneratedRegex(@"roleDefinitions'?,\s*'([0-9a-f-]{36})'")]
    private static partial Regex RoleDefinitionId();

    [GeneratedRegex(@"^reference\((.+),\s*'[^']+'\)\.principalId$")]
    private static partial Regex ReferencedResource();
}
