using System.Text.Json;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A directory the original Node implementation wrote (the hand-made <see cref="NodeStateDirectory"/>), opened
/// through the normal open path on the real disk: everything it held is there, under the right ids.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public NodeImportTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task NodeDirectory_LoadsEveryTaskAndSession_TaskFilesWin_UnknownFieldsKept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        IReadOnlyList<AgentTask> tasks = await service.LoadTasksAsync(ct);
        Assert.Equal(["task_1", "task_2", "task_3"], tasks.Select(t => t.Id));
        Assert.Equal(TaskStatuses.Completed, tasks[0].Status);
        Assert.Equal(2, tasks[0].Logs.Count);
        Assert.Equal("high", tasks[1].ExtensionData!["priority"].GetString());
        Assert.Equal(["sess_a", "sess_a_b"], (await service.LoadSessionsAsync(ct)).Select(s => s.Id));
        Assert.Equal("completed", (await service.LoadSessionAsync("sess_a", ct))!.Status);
        PersistedState state = await service.LoadStateAsync(ct);
        Assert.Equal("dark", state.ExtensionData!["ui_theme"].GetString());
    }

    [Fact]
    public async Task NodeMetrics_AreKept_AsNodeMetrics()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            PersistedState state = await service.LoadStateAsync(ct);
            JsonElement kept = state.ExtensionData!["node_metrics"];
            Assert.Equal(3, kept.GetProperty("total_tasks").GetInt32());
            Assert.Equal(0, kept.GetProperty("failed_tasks").GetInt32());
            Assert.Equal(5400000, kept.GetProperty("average_completion_time").GetInt64());
            Assert.Equal(1, state.Metrics.FailedTasks);
        }

        // Still there once the migrated state.json is the one read.
        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(3, (await reopened.LoadStateAsync(ct)).ExtensionData!["node_metrics"].GetProperty("total_tasks").GetInt32());
    }

    /// <summary>
    /// A Node <c>state.json</c> whose application has a <c>node_metrics</c> field of its own: the stored metrics were
    /// dropped, and the log said state.json held no readable 'metrics' (blaming a corrupt state.json).
    /// </summary>
    [Fact]
    public async Task NodeMetrics_BesideTheApplicationsOwnNodeMetrics_AreKeptUnderAFreeName_TheOwnUnchanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string state = System.Text.Encoding.UTF8.GetString(NodeStateDirectory.Files["state.json"]);
        File.WriteAllText(_fixture.File("state.json"), state.Replace("\"ui_theme\": \"dark\"", "\"ui_theme\": \"dark\", \"node_metrics\": {\"runs\": 7}", StringComparison.Ordinal));

        await using StatePersistenceService service = await _fixture.OpenAsync();

        IDictionary<string, JsonElement> fields = (await service.LoadStateAsync(ct)).ExtensionData!;
        Assert.Equal(["runs"], fields["node_metrics"].EnumerateObject().Select(p => p.Name));
        Assert.Equal(7, fields["node_metrics"].GetProperty("runs").GetInt32());
        Assert.Equal(3, fields["node_metrics_2"].GetProperty("total_tasks").GetInt32());
        Assert.Equal(5400000, fields["node_metrics_2"].GetProperty("average_completion_time").GetInt64());
        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("kept in state.json as 'node_metrics_2' ('metrics' is derived from the tasks from now on; the application's own 'node_metrics' is kept unchanged)", log, StringComparison.Ordinal);
    }

    /// <summary>A <c>node_metrics</c> that holds the stored metrics byte for byte already keeps them: not added twice.</summary>
    [Fact]
    public async Task NodeMetrics_AlreadyKeptAsNodeMetrics_AreNotAddedTwice()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const string Metrics = """{"total_tasks": 3, "completed_tasks": 1, "failed_tasks": 0, "average_completion_time": 5400000}""";
        string state = System.Text.Encoding.UTF8.GetString(NodeStateDirectory.Files["state.json"]);
        File.WriteAllText(_fixture.File("state.json"), state.Replace("\"ui_theme\": \"dark\"", "\"ui_theme\": \"dark\", \"node_metrics\": " + Metrics, StringComparison.Ordinal));

        await using StatePersistenceService service = await _fixture.OpenAsync();

        IDictionary<string, JsonElement> fields = (await service.LoadStateAsync(ct)).ExtensionData!;
        Assert.Equal(3, fields["node_metrics"].GetProperty("total_tasks").GetInt32());
        Assert.False(fields.ContainsKey("node_metrics_2"));
        Assert.Contains("are in state.json as 'node_metrics' already, byte for byte; not added twice", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeSessionLogs_AreJoinedInTimeOrder_EachSessionOnlyItsOwn()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", ct));
        Assert.Equal(NodeStateDirectory.SessionABLog, await service.ReadSessionLogAsync("sess_a_b", ct));
        Assert.Empty(Directory.GetFiles(_fixture.File("logs"), "session_*_*_17*.log"));

        // The joined log takes appends like any other.
        await service.AppendSessionLogAsync("sess_a", "[10:02:00] done\n", ct);
        Assert.Equal(NodeStateDirectory.SessionALog + "[10:02:00] done\n", await service.ReadSessionLogAsync("sess_a", ct));
    }

    [Fact]
    public async Task NodeReports_AreListedUnderTheirRealId_TheNewestWins()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["rep_1", "rep_2"], await service.ListReportsAsync(ct));
        Assert.Equal(NodeStateDirectory.Report1, (await service.LoadReportAsync("rep_1", ct))!.Value.GetRawText());
        Assert.Equal(NodeStateDirectory.Report2, (await service.LoadReportAsync("rep_2", ct))!.Value.GetRawText());
        Assert.Equal(NodeStateDirectory.Report1Older, File.ReadAllText(_fixture.File("pre-migration", "reports", "report_rep_1_1704106800000.json")));
    }

    /// <summary>
    /// A report file as a Node program writes one (indented, ending in a newline): the import used to checksum the
    /// newline, which the read never sees, so the migration failed with an unhandled exception (the server aborted,
    /// exit 134) and left the directory half-migrated. A byte order mark before the JSON moved the file aside as not
    /// JSON.
    /// </summary>
    [Theory]
    [InlineData("", "\n")]
    [InlineData("\uFEFF", "\r\n")]
    public async Task ANodeReportWithWhitespaceAroundItsJson_IsImported(string before, string after)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const string Indented = "{\n  \"type\": \"summary\",\n  \"data\": {\n    \"ok\": true\n  }\n}";
        File.WriteAllText(_fixture.File("reports", "report_rep_3_1704110400000.json"), before + Indented + after);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(Indented, (await service.LoadReportAsync("rep_3", ct))!.Value.GetRawText());
    }

    /// <summary>
    /// The migration leaves every task and session file in this library's format: the Node files were read as they are
    /// and left so (an indented task file, no session files where the Node server kept sessions only in state.json),
    /// and the next start moved the indented ones aside as hand edits and reported the directory Degraded.
    /// </summary>
    [Fact]
    public async Task AfterTheMigration_EveryItemFileIsInThisLibrarysFormat_SoTheNextStartMovesNothingAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("tasks", "task_2.json"), JsonSerializer.Serialize(
            JsonDocument.Parse("""{"id": "task_2", "description": "Write the docs", "status": "pending", "tool": "CLAUDECODE", "created_at": "2024-01-01T10:10:00Z", "updated_at": "2024-01-01T10:10:00Z", "priority": "high"}""").RootElement,
            new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Delete(_fixture.File("sessions", "sess_a_b.json"));
        await using (StatePersistenceService migrating = await _fixture.OpenAsync())
        {
            Assert.Equal("high", (await migrating.LoadTaskAsync("task_2", ct))!.ExtensionData!["priority"].GetString());
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();

        Assert.Empty(Directory.EnumerateFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));
        StateHealth health = reopened.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.True(health.Status == StateHealthStatus.Healthy, string.Join("; ", health.Reasons));
        Assert.True(File.Exists(_fixture.File("sessions", "sess_a_b.json")));
        Assert.Equal("high", (await reopened.LoadTaskAsync("task_2", ct))!.ExtensionData!["priority"].GetString());
    }

    /// <summary>
    /// A Node report file that is JSON but no report of this library (an array, a string, another id inside) is moved
    /// aside, as a file that is not JSON is: imported, it was served, then <c>statectl verify</c> listed it and an export
    /// of the migrated directory could not be imported.
    /// </summary>
    [Theory]
    [InlineData("[1, 2]", "not an object")]
    [InlineData("\"done\"", "not an object")]
    [InlineData("{\"id\": \"rep_other\", \"type\": \"summary\"}", "the report inside has id 'rep_other', not 'rep_9'")]
    public async Task ANodeReportThatIsNoReport_IsMovedAside_NotImported(string json, string reason)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("reports", "report_rep_9_1704110400000.json"), json);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Null(await service.LoadReportAsync("rep_9", ct));
        string aside = Assert.Single(Directory.EnumerateFiles(_fixture.File("reports"), "report_rep_9_1704110400000.corrupt.*"));
        Assert.Equal(json, File.ReadAllText(aside));
        Assert.Contains(reason, File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// A Node directory whose files start with a UTF-8 byte order mark: each was moved aside as not JSON, and the
    /// migration was applied with every task lost.
    /// </summary>
    [Fact]
    public async Task NodeFilesWithAByteOrderMark_AreReadAsTheirJson()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        foreach (string file in new[] { _fixture.File("state.json"), _fixture.File("tasks", "task_1.json"), _fixture.File("sessions", "sess_a.json") })
        {
            File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. File.ReadAllBytes(file)]);
        }

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal("completed", (await service.LoadTaskAsync("task_1", ct))!.Status);
        Assert.NotNull(await service.LoadSessionAsync("sess_a", ct));
        Assert.Equal("dark", JsonDocument.Parse(await File.ReadAllBytesAsync(_fixture.File("state.json"), ct)).RootElement.GetProperty("ui_theme").GetString());
        Assert.Empty(Directory.EnumerateFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));
        Assert.Contains("state.json: its byte order mark dropped", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// A Node file with a byte order mark whose JSON behind it is damaged (a write the Node server did not finish) is
    /// moved aside as the Node server wrote it: before 2026-12-07 the migration rewrote it without the mark first, and
    /// the copy moved aside, the evidence, was that rewrite.
    /// </summary>
    [Fact]
    public async Task NodeFilesWithAByteOrderMark_DamagedBehindIt_AreMovedAsideAsTheyWere()
    {
        byte[] state = [0xEF, 0xBB, 0xBF, .. """{"version": "1.0.0", "tasks": [{"id": "task_1", "sta"""u8];
        byte[] task = [0xEF, 0xBB, 0xBF, .. """{"id": "task_9", "descr"""u8];
        File.WriteAllBytes(_fixture.File("state.json"), state);
        File.WriteAllBytes(_fixture.File("tasks", "task_9.json"), task);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(2, service.LastRecovery!.Quarantined.Count);
        }

        Assert.Equal(state, File.ReadAllBytes(Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.corrupt.*.json"))));
        Assert.Equal(task, File.ReadAllBytes(Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "task_9.corrupt.*.json"))));
        Assert.Contains("tasks/task_9.json: starts with a byte order mark but is no JSON after it", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    /// <summary>
    /// A Node <c>state.json</c> and backup without <c>version</c> (the seed's <c>PersistedState</c> names none): both
    /// were moved aside as no state file at all, and what only they held (a session, the application's fields) was lost
    /// without a word.
    /// </summary>
    [Fact]
    public async Task ANodeSnapshotWithoutAVersion_IsReadAsVersion1()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("state.json"), """
            {"tasks": [{"id": "task_9", "description": "only in the snapshot", "status": "pending"}],
             "sessions": [{"id": "sess_only_here", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z"}],
             "ui_theme": "dark"}
            """);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal("only in the snapshot", (await service.LoadTaskAsync("task_9", ct))!.Description);
        Assert.NotNull(await service.LoadSessionAsync("sess_only_here", ct));
        Assert.Equal("dark", JsonDocument.Parse(await File.ReadAllBytesAsync(_fixture.File("state.json"), ct)).RootElement.GetProperty("ui_theme").GetString());
        Assert.Contains("state.json: marked version 1.0.0 (it named none)", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeBackups_AreRecognisedAsBackups_InTheirOrder()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        string[] backups = [.. Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.All(backups, name => Assert.True(StateLayout.TryParseTimestamp(StateLayout.BackupTimestamp(name)!, out _), name));
        Assert.Contains("state.backup.20240101T095640-0000000Z.json", backups);
        Assert.Equal(NodeStateDirectory.Files["state.backup.1704103100000.json"], File.ReadAllBytes(_fixture.File("state.backup.20240101T095820-0000000Z.json")));
    }

    [Fact]
    public async Task NodePermissions_AreTightened_AndLogged()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveSnapshotAsync(TestContext.Current.CancellationToken);
        }

        const UnixFileMode directory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode file = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        foreach (string path in Directory.GetDirectories(_fixture.StatePath, "*", SearchOption.AllDirectories).Append(_fixture.StatePath))
        {
            Assert.True(directory == File.GetUnixFileMode(path), $"{path} is {File.GetUnixFileMode(path)}");
        }

        foreach (string path in Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Where(p => !p.Contains("pre-migration", StringComparison.Ordinal)))
        {
            Assert.True(file == File.GetUnixFileMode(path), $"{path} is {File.GetUnixFileMode(path)}");
        }

        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("permissions: 5 director(ies) 0755 -> 0700", log, StringComparison.Ordinal);
        Assert.Contains("0644 -> 0600", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StrayTempFiles_AreRemoved_AndLogged()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        Assert.False(File.Exists(_fixture.File("state.json.tmp")));
        Assert.False(File.Exists(_fixture.File("tasks", "task_3.json.tmp")));
        Assert.Contains("removed the stray temp file tasks/task_3.json.tmp", File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migration_KeepsAByteForByteBackup_WritesTheCurrentVersion_AndLogsWhatItDid()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal("1.0.0 -> 2.1.0; see state.migration-v1.0.0-to-v2.1.0.log", service.LastRecovery!.Migration);
        }

        Assert.Equal(NodeStateDirectory.Files["state.json"], File.ReadAllBytes(_fixture.File("state.pre-migration.backup.json")));
        foreach ((string relative, byte[] bytes) in NodeStateDirectory.Files.Where(f => f.Key != "state.json"))
        {
            Assert.Equal(bytes, File.ReadAllBytes(_fixture.File("pre-migration", relative)));
        }

        using (JsonDocument state = JsonDocument.Parse(File.ReadAllBytes(_fixture.File("state.json"))))
        {
            Assert.Equal(StateFormat.CurrentVersion, state.RootElement.GetProperty("version").GetString());
        }

        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("session log sess_a: 3 per-call file(s)", log, StringComparison.Ordinal);
        Assert.Contains("report rep_1: report_rep_1_1704110400000.json (the newest valid file) imported as reports/report_rep_1.json; report_rep_1_1704106800000.json is kept only in the pre-migration backup", log, StringComparison.Ordinal);
        Assert.Contains("recovery: 3 task(s) and 2 session(s)", log, StringComparison.Ordinal);
        Assert.Contains("applied.", log, StringComparison.Ordinal);

        // Migrated once: the next open reads the current format and migrates nothing.
        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Null(reopened.LastRecovery!.Migration);
        Assert.Equal(NodeStateDirectory.SessionALog, await reopened.ReadSessionLogAsync("sess_a", ct));
        Assert.Equal(["task_1", "task_2", "task_3"], (await reopened.LoadTasksAsync(ct)).Select(t => t.Id));
    }

    [Fact]
    public async Task MigrationAtOpen_TheStateLoaded_HasTheLastSavedOfTheStateJsonItWrote()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        DateTimeOffset? lastSaved = (await service.LoadStateAsync(ct)).LastSaved;

        using JsonDocument state = JsonDocument.Parse(File.ReadAllBytes(_fixture.File("state.json")));
        Assert.Equal(state.RootElement.GetProperty("last_saved").GetDateTimeOffset(), lastSaved);
        Assert.Equal(lastSaved, service.CheckHealth().LastSaveTime);
    }

    [Fact]
    public async Task NodeDirectory_WithACorruptStateJson_IsRecoveredFromItsFiles_AndStillImported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("state.json"), """{"version": "1.0.0", "tasks": [{"id": "task_1", "sta""");

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Contains(service.LastRecovery!.Quarantined, q => q.OriginalPath.EndsWith("state.json", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.corrupt.*.json"));
        Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", ct));
        Assert.Equal(["rep_1", "rep_2"], await service.ListReportsAsync(ct));
    }
}
