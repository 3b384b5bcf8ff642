using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// A key under <c>StatePersistence</c> that no setting reads stops the start, named with the setting it was likely
/// meant to be: the binder would ignore it and keep the default (a misspelt <c>SnapshotOnShutdown</c> or
/// <c>Durability</c> would change nothing, silently).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnknownSettingsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("StatePersistence:SnapshotOnShutdwn", "StatePersistence:SnapshotOnShutdown")]
    [InlineData("StatePersistence:Durabilty", "StatePersistence:Durability")]
    [InlineData("StatePersistence:Retention:ReportMaxAg", "StatePersistence:Retention:ReportMaxAge")]
    [InlineData("StatePersistence:Server:Quotas:MaxTask", "StatePersistence:Server:Quotas:MaxTasks")]
    [InlineData("StatePersistence:Encryption:Keyfiles", "StatePersistence:Encryption:KeyFile")]
    [InlineData("StatePersistence:ConectionString", "StatePersistence:ConnectionString")]
    public void AMisspeltSetting_IsRefused_NamingItAndTheSettingMeant(string key, string meant)
    {
        string problem = Assert.Single(StartupChecks.Settings(Settings((key, "1"))));

        Assert.StartsWith(key + " is not a setting of this server (did you mean " + meant + "?)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyLikeNoSetting_IsRefused_ListingTheSettingsOfItsSection()
    {
        string problem = Assert.Single(StartupChecks.Settings(Settings(("StatePersistence:HealthCheck:Banana", "1"))));

        Assert.Contains("the settings under StatePersistence:HealthCheck are LowDiskSpaceBytes", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_AreMatchedWithoutRegardToCase_AndListsAndPatternsTakeAnyKey() =>
        Assert.Empty(StartupChecks.Settings(Settings(
            ("statepersistence:autosaveinterval", "00:00:05"),
            ("STATEPERSISTENCE:SERVER:QUOTAS:MAXTASKS", "10"),
            ("StatePersistence:Server:CorsOrigins:0", "https://app.example"),
            ("StatePersistence:Redaction:Patterns:ticket", "TKT-[0-9]+"),
            ("StatePersistence:Postgres:ChangeRetention", "00:10:00"))));

    [Fact]
    public void EverySettingTheReadmeNames_IsKnown()
    {
        string readme = File.ReadAllText(RepositoryFiles.Find("README.md"));
        string[] keys = Regex.Matches(readme, @"^\| `(StatePersistence:[A-Za-z:]+[A-Za-z])`", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.True(keys.Length > 30, $"only {keys.Length} settings found in the README's configuration table");

        // Every one at once, with a value each parses (the check looks at keys, the binder at values).
        IConfiguration configuration = Settings([.. keys.Select(k => (k, ValueFor(k)))]);

        Assert.Empty(UnknownSettings.Find(configuration));
    }

    [Fact]
    public async Task AMisspeltSetting_ExitsWith2_BeforeTheStateDirectoryIsCreated()
    {
        string state = _directory.Combine("state");
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", state],
            new Dictionary<string, string> { ["StatePersistence__SnapshotOnShutdwn"] = "false" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("StatePersistence:SnapshotOnShutdwn is not a setting of this server (did you mean StatePersistence:SnapshotOnShutdown?)",
            server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(state));
    }

    private static string ValueFor(string key) => key switch
    {
        _ when key.EndsWith("Interval", StringComparison.Ordinal) || key.EndsWith("Age", StringComparison.Ordinal) ||
               key.EndsWith("After", StringComparison.Ordinal) || key.EndsWith("Duration", StringComparison.Ordinal) ||
               key.EndsWith("Timeout", StringComparison.Ordinal) || key.EndsWith("Heartbeat", StringComparison.Ordinal) ||
               key.EndsWith("Retention", StringComparison.Ordinal) => "00:00:01",
        _ => "1",
    };

    private static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}
