using Microsoft.Extensions.Configuration;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StartupChecksTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--STATE_API_KEY=abc")]
    [InlineData("--state_api_key")]
    [InlineData("/STATE_API_KEY")]
    [InlineData("STATE_API_KEY=abc")]
    [InlineData("--StatePersistence:Server:ApiKey")]
    [InlineData("--StatePersistence__Server__ApiKey=abc")]
    public void TheKeyOnTheCommandLine_IsRefusedPointingToTheEnvironment(string argument)
    {
        string refusal = Assert.Single(StartupChecks.KeyOnCommandLine(["--urls", "http://127.0.0.1:5080", argument]));

        Assert.Contains("export STATE_API_KEY", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherArguments_AreNotRefused() =>
        Assert.Empty(StartupChecks.KeyOnCommandLine(["--state-path", "/srv/state", "--StatePersistence:MaxBackups", "5"]));

    [Fact]
    public void SeveralProblems_AreReportedTogether_NamingEachSetting()
    {
        IConfiguration configuration = Settings(
            ("StatePersistence:AutosaveInterval", "banana"),
            ("StatePersistence:Server:MaxConcurrentConnections", "0"),
            ("STATE_API_KEY", "too-short-key"),
            ("urls", "http://0.0.0.0:5080"));

        List<string> problems = StartupChecks.Settings(configuration);
        var refusal = Assert.Throws<ServerStartupException>(() => StartupChecks.ThrowIfAny(problems));

        Assert.Equal(3, problems.Count);
        Assert.Contains("'StatePersistence:AutosaveInterval'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("StatePersistence:Server:MaxConcurrentConnections", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -hex 32", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-key", refusal.Message, StringComparison.Ordinal);
    }

    /// <summary>An empty key file setting (<c>--encryption-key-file ""</c>) quietly meant no encryption: refused, named.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void AnEmptyKeyFileSetting_IsRefused_NamingIt(string value)
    {
        string problem = Assert.Single(StartupChecks.Settings(Settings(("StatePersistence:Encryption:KeyFile", value))));

        Assert.StartsWith("StatePersistence:Encryption:KeyFile (--encryption-key-file) is empty", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void NegativeRetentionSettings_AreRefused_NamingEachSetting()
    {
        List<string> problems = StartupChecks.Settings(Settings(
            ("StatePersistence:Retention:SessionLogMaxBytes", "-1"),
            ("StatePersistence:Retention:SessionLogRotatedParts", "-2"),
            ("StatePersistence:Retention:ReportMaxAge", "-01:00:00"),
            ("StatePersistence:Retention:Interval", "-00:00:01")));

        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("StatePersistence:Retention:SessionLogMaxBytes must not be negative (was -1)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("StatePersistence:Retention:SessionLogRotatedParts must not be negative (was -2)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("StatePersistence:Retention:ReportMaxAge must not be negative", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("StatePersistence:Retention:Interval must not be negative", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUnparseableRetentionSetting_IsRefused_NamingIt()
    {
        string problem = Assert.Single(StartupChecks.Settings(Settings(("StatePersistence:Retention:ReportMaxAge", "a week"))));

        Assert.Contains("'StatePersistence:Retention:ReportMaxAge'", problem, StringComparison.Ordinal);
        Assert.Contains("hh:mm:ss", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void RetentionSettings_AreBoundFromTheStatePersistenceSection()
    {
        var options = new StatePersistenceOptions();
        Settings(
            ("StatePersistence:Retention:SessionLogMaxBytes", "1048576"),
            ("StatePersistence:Retention:SessionLogRotatedParts", "3"),
            ("StatePersistence:Retention:ReportMaxAge", "7.00:00:00"),
            ("StatePersistence:Retention:Interval", "00:10:00")).GetSection("StatePersistence").Bind(options);

        Assert.Equal(1048576, options.Retention.SessionLogMaxBytes);
        Assert.Equal(3, options.Retention.SessionLogRotatedParts);
        Assert.Equal(TimeSpan.FromDays(7), options.Retention.ReportMaxAge);
        Assert.Equal(TimeSpan.FromMinutes(10), options.Retention.Interval);
        Assert.True(options.Retention.IsEnabled);
        Assert.False(new StatePersistenceOptions().Retention.IsEnabled);
    }

    [Theory]
    [InlineData("209715200", null, "209715200", "104857600")]
    [InlineData("104857600", null, "104857600", "104857600")]
    [InlineData(null, "0", "67108864", "0")]
    [InlineData("1048576", "1048576", "1048576", "1048576")]
    public void AFreeDiskFloorNotBelowTheHealthWarning_IsRefused_NamingBothSettingsAndValues(string? floor, string? warning,
        string floorShown, string warningShown)
    {
        var settings = new List<(string, string)>();
        if (floor is not null)
        {
            settings.Add(("StatePersistence:Server:Quotas:MinFreeDiskBytes", floor));
        }

        if (warning is not null)
        {
            settings.Add(("StatePersistence:HealthCheck:LowDiskSpaceBytes", warning));
        }

        string problem = Assert.Single(StartupChecks.Settings(Settings([.. settings])));

        Assert.Contains($"StatePersistence:Server:Quotas:MinFreeDiskBytes ({floorShown})", problem, StringComparison.Ordinal);
        Assert.Contains($"StatePersistence:HealthCheck:LowDiskSpaceBytes ({warningShown})", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("0", "0")]
    [InlineData("104857599", null)]
    [InlineData("209715200", "209715201")]
    public void AFreeDiskFloorBelowTheHealthWarning_OrOff_IsAccepted(string floor, string? warning) =>
        Assert.Empty(StartupChecks.Settings(Settings(
            [("StatePersistence:Server:Quotas:MinFreeDiskBytes", floor), .. warning is null ? [] : new[] { ("StatePersistence:HealthCheck:LowDiskSpaceBytes", warning) }])));

    [Fact]
    public async Task AFreeDiskFloorNotBelowTheHealthWarning_ExitsWith2AndOneLine()
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", _directory.Combine("state")],
            new Dictionary<string, string> { ["StatePersistence__Server__Quotas__MinFreeDiskBytes"] = "209715200" });

        Assert.Equal(2, await server.WaitForExitAsync());
        string output = server.Output.Trim();
        Assert.Single(output.Split('\n'));
        Assert.StartsWith("statepersistence-server: Refusing to start: StatePersistence:Server:Quotas:MinFreeDiskBytes (209715200)", output, StringComparison.Ordinal);
        Assert.Contains("StatePersistence:HealthCheck:LowDiskSpaceBytes (104857600)", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_directory.Combine("state")));
    }

    [Theory]
    [InlineData("9223372036854775807")]
    [InlineData("1152921504606846976")]
    [InlineData("1073741825")]
    public void ARequestBodyLimitOver1GiB_IsRefusedNamingTheValue(string bytes)
    {
        // Before 2026-12-07 accepted: the body budget (8 such bodies) overflowed a long from 2^60 on, and every request
        // with a body got 503.
        string problem = Assert.Single(StartupChecks.Settings(Settings(("StatePersistence:Server:MaxRequestBodyBytes", bytes))));

        Assert.StartsWith($"StatePersistence:Server:MaxRequestBodyBytes must be from 1 to 1073741824 (1 GiB) (was {bytes})", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ARequestBodyLimitOf1GiB_IsAccepted_WithABodyBudgetOf8GiB()
    {
        IConfiguration configuration = Settings(("StatePersistence:Server:MaxRequestBodyBytes", "1073741824"));
        var options = new StateServerOptions();
        configuration.GetSection(StateServerOptions.Section).Bind(options);

        Assert.Empty(StartupChecks.Settings(configuration));
        Assert.Equal(8L << 30, options.BufferedBodyLimit);
    }

    [Theory]
    [InlineData("00:00:00.0000001")]
    [InlineData("00:00:00.0009999")]
    [InlineData("50.00:00:00")]
    [InlineData("10675199.02:48:05.4775807")]
    public void AnEventsHeartbeatATimerCannotWait_IsRefusedNamingTheValue(string heartbeat)
    {
        // Before 2026-12-07 accepted: over 49.7 days every /api/events stream failed right after ": connected" (Task.Delay
        // refuses it), and under 1 ms the heartbeat waited 0 ms, a loop writing heartbeats as fast as it could.
        string problem = Assert.Single(StartupChecks.Settings(Settings(("StatePersistence:Server:EventsHeartbeat", heartbeat))));

        Assert.StartsWith($"StatePersistence:Server:EventsHeartbeat must be from 1 ms to 49.7 days, 49.17:02:47.2940000, the longest a .NET timer waits (was {TimeSpan.Parse(heartbeat, System.Globalization.CultureInfo.InvariantCulture)})",
            problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:00.001")]
    [InlineData("49.17:02:47.294")]
    public void AnEventsHeartbeatFrom1MsTo49Days_IsAccepted(string heartbeat) =>
        Assert.Empty(StartupChecks.Settings(Settings(("StatePersistence:Server:EventsHeartbeat", heartbeat))));

    [Fact]
    public void AKeyOf32Characters_IsAccepted() =>
        Assert.Empty(StartupChecks.Settings(Settings(("STATE_API_KEY", new string('k', 32)), ("urls", "http://0.0.0.0:5080"))));

    [Fact]
    public async Task AnUnparseableSetting_ExitsWith2AndOneCleanMessage()
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", _directory.Combine("state")],
            new Dictionary<string, string> { ["StatePersistence__AutosaveInterval"] = "banana" });

        int exitCode = await server.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        string output = server.Output.Trim();
        Assert.StartsWith("statepersistence-server: Refusing to start: Failed to convert configuration value 'banana' at 'StatePersistence:AutosaveInterval'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheKeyOnTheRealCommandLine_ExitsWith2()
    {
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(),
            ["--state-path", _directory.Combine("state"), "--STATE_API_KEY", new string('k', 40)]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("export STATE_API_KEY", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('k', 40), server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_directory.Combine("state")));
    }

    [Fact]
    public async Task ALockedStateDirectory_IsOneCleanMessage()
    {
        string state = _directory.Combine("state");
        await using ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", state]);
        await using ServerProcess second = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", state]);

        Assert.Equal(2, await second.WaitForExitAsync());
        Assert.Contains("is in use by process", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoosePermissions_AreTightenedAtStart_AndAFreshDirectoryIsNoWarning()
    {
        string state = _directory.Combine("state");
        await using (ServerProcess fresh = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", state]))
        {
            Assert.DoesNotContain("warn:", fresh.Output, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(state));
            await fresh.TerminateAsync();
        }

        File.SetUnixFileMode(state, (UnixFileMode)0x1FF);
        string report = Path.Combine(state, "reports", "report_x.json");
        await File.WriteAllTextAsync(report, "{}", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(report, (UnixFileMode)0x1B6);

        await using ServerProcess again = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", state]);

        Assert.Equal((UnixFileMode)0x1C0, File.GetUnixFileMode(state));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(report));
        Assert.Single(again.Output.Split('\n'), l => l.Contains("Tightened the permissions", StringComparison.Ordinal));
    }

    private static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}
