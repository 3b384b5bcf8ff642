using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A Node directory whose <c>state.json</c> is missing or corrupt, or whose task file is: the Node server kept its
/// sessions (and tasks it had no file for) only in its snapshots, so the import falls back to the newest valid backup
/// for them, as the seed promised ("try loading latest backup"), reports each item so taken, and reports a loss only
/// when no valid copy holds the item.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportFallbackTests : IDisposable
{
    /// <summary>Newer than the fixture's two backups: two sessions and a task that no file holds, its own metrics.</summary>
    private const string NewestBackupName = "state.backup.1704103320000.json";

    private const string NewestBackup = """
        {"version": "1.0.0",
         "tasks": [
           {"id": "task_1", "description": "Implement authentication", "status": "in_progress", "tool": "CLAUDECODE", "created_at": "2024-01-01T10:00:00Z", "updated_at": "2024-01-01T10:05:00Z"},
           {"id": "task_4", "description": "Only in the backup", "status": "pending", "tool": "CLAUDECODE", "created_at": "2024-01-01T10:01:00Z", "updated_at": "2024-01-01T10:01:00Z"}
         ],
         "sessions": [
           {"id": "sess_2", "type": "claude", "status": "active", "created_at": "2024-01-01T10:01:00Z", "task_id": "task_1"},
           {"id": "sess_3", "type": "claude", "status": "completed", "created_at": "2024-01-01T10:01:30Z", "task_id": "task_4"}
         ],
         "metrics": {"total_tasks": 2, "completed_tasks": 0, "failed_tasks": 0, "average_completion_time": 0},
         "last_saved": "2024-01-01T10:02:00.000Z",
         "ui_theme": "light"}
        """;

    private readonly StateFixture _fixture = new();

    public NodeImportFallbackTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        File.WriteAllText(_fixture.File(NewestBackupName), NewestBackup);
    }

    public void Dispose() => _fixture.Dispose();

    /// <summary>
    /// The newest backup's stored metrics, when the application has a <c>node_metrics</c> of its own there: they were
    /// dropped without a word.
    /// </summary>
    [Fact]
    public async Task TheBackupsStoredMetrics_BesideTheApplicationsOwnNodeMetrics_AreKeptUnderAFreeName()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File(NewestBackupName), NewestBackup.Replace("\"ui_theme\": \"light\"", "\"ui_theme\": \"light\", \"node_metrics\": {\"runs\": 7}", StringComparison.Ordinal));
        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService service = await _fixture.OpenAsync();

        IDictionary<string, JsonElement> fields = (await service.LoadStateAsync(ct)).ExtensionData!;
        Assert.Equal(7, fields["node_metrics"].GetProperty("runs").GetInt32());
        Assert.Equal(2, fields["node_metrics_2"].GetProperty("total_tasks").GetInt32());
    }

    /// <summary>A newest backup with no stored metrics: nothing to keep (a change to the metrics' lookup once made it an empty value, and the open failed).</summary>
    [Fact]
    public async Task ABackupWithoutStoredMetrics_IsUsed_AndNoMetricsAreAdded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File(NewestBackupName), NewestBackup.Replace(
            "\"metrics\": {\"total_tasks\": 2, \"completed_tasks\": 0, \"failed_tasks\": 0, \"average_completion_time\": 0},", "", StringComparison.Ordinal));
        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.NotNull(await service.LoadSessionAsync("sess_2", ct));
        IDictionary<string, JsonElement> fields = (await service.LoadStateAsync(ct)).ExtensionData!;
        Assert.Equal(["ui_theme"], fields.Keys);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("deleted")]
    public async Task StateJsonMissingOrCorrupt_SessionsAndFilelessTasks_AreTakenFromTheNewestBackup_AndReported(string damage)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] state = File.ReadAllBytes(_fixture.File("state.json"));
        if (damage == "truncated")
        {
            File.WriteAllBytes(_fixture.File("state.json"), state[..(state.Length / 3)]);
        }
        else
        {
            File.Delete(_fixture.File("state.json"));
        }

        await using StatePersistenceService service = await _fixture.OpenAsync();

        RecoveryReport report = service.LastRecovery!;
        // sess_a and sess_a_b have their own files (the fixture's); sess_2 and sess_3 were only in the snapshots.
        Assert.Equal(["sess_2", "sess_3", "sess_a", "sess_a_b"], (await service.LoadSessionsAsync(ct)).Select(s => s.Id));
        IReadOnlyList<AgentTask> tasks = await service.LoadTasksAsync(ct);
        Assert.Equal(["task_1", "task_2", "task_3", "task_4"], tasks.Select(t => t.Id));
        Assert.Equal(TaskStatuses.Completed, tasks[0].Status); // its task file is newer than the backup, and wins
        Assert.Equal(
            ["session sess_2", "session sess_3", "task task_4"],
            report.RestoredFromBackup.Select(r => $"{r.Kind} {r.Id}").Order(StringComparer.Ordinal));
        Assert.All(report.RestoredFromBackup, r => Assert.True(r.PossiblyStale));
        Assert.All(report.RestoredFromBackup, r => Assert.Equal("state.backup.20240101T100200-0000000Z.json", r.Source));
        Assert.Empty(report.Lost);
        PersistedState loaded = await service.LoadStateAsync(ct);
        Assert.Equal("light", loaded.ExtensionData!["ui_theme"].GetString());
        Assert.Equal(2, loaded.ExtensionData!["node_metrics"].GetProperty("total_tasks").GetInt32());

        // Findable after the log lines are gone, and in the migration log.
        using (JsonDocument written = JsonDocument.Parse(File.ReadAllBytes(_fixture.File("recovery-report.json"))))
        {
            Assert.Equal(3, written.RootElement.GetProperty("restored_from_backup").GetArrayLength());
        }

        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("4 task(s) and 4 session(s) loaded from state.backup.20240101T100200-0000000Z.json", log, StringComparison.Ordinal);
        Assert.Contains("taken from state.backup.20240101T100200-0000000Z.json (possibly stale): 2 session(s) sess_2, sess_3", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlyABackup_EverythingItHolds_IsServed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        foreach (string path in Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Where(p => Path.GetFileName(p) != NewestBackupName))
        {
            File.Delete(path);
        }

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1", "task_4"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(["sess_2", "sess_3"], (await service.LoadSessionsAsync(ct)).Select(s => s.Id));
        Assert.Equal(4, service.LastRecovery!.RestoredFromBackup.Count);
        Assert.Empty(service.LastRecovery.Lost);
        Assert.True(File.Exists(_fixture.File("recovery-report.json")));

        // The migrated state.json holds them: the next open needs no backup.
        await service.DisposeAsync();
        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(["sess_2", "sess_3"], (await reopened.LoadSessionsAsync(ct)).Select(s => s.Id));
        Assert.Empty(reopened.LastRecovery!.RestoredFromBackup);
    }

    [Fact]
    public async Task TruncatedTaskFile_StateJsonHoldsTheTask_IsTakenFromIt_NotReportedLost()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] file = File.ReadAllBytes(_fixture.File("tasks", "task_2.json"));
        File.WriteAllBytes(_fixture.File("tasks", "task_2.json"), file[..(file.Length / 2)]);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        RecoveryReport report = service.LastRecovery!;
        Assert.Equal("Write the docs", (await service.LoadTaskAsync("task_2", ct))!.Description);
        Assert.Empty(report.Lost);
        RestoredItem restored = Assert.Single(report.RestoredFromBackup);
        Assert.Equal(("task", "task_2", "state.json", true), (restored.Kind, restored.Id, restored.Source, restored.PossiblyStale));
        Assert.Contains(report.Quarantined, q => q.OriginalPath.EndsWith("task_2.json", StringComparison.Ordinal));
        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.DoesNotContain("no valid copy", log, StringComparison.Ordinal);
        Assert.DoesNotContain("no valid copy", File.ReadAllText(_fixture.File("recovery-report.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptTaskFile_NoSnapshotHoldsTheTask_IsReportedLost()
    {
        // task_3 exists only as a file: with the file corrupt, nothing holds it.
        File.WriteAllText(_fixture.File("tasks", "task_3.json"), """{"id": "task_3", "descr""");

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Contains(service.LastRecovery!.Lost, l => l.Contains("'task_3'", StringComparison.Ordinal));
        Assert.DoesNotContain(service.LastRecovery.RestoredFromBackup, r => r.Id == "task_3");
    }
}
