using System.Text.Json;
using StatePersistence.FileStore.Operations;
using StatePersistence.Recovery;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A Node snapshot holding an item this library's model refuses (a time as epoch milliseconds, an id with a space):
/// another program's data, in a file with no checksum. Only that item is left out, its JSON kept aside and its loss
/// reported. Before, the one item made the whole snapshot unreadable, and every session, every task without a file and
/// the application's fields were lost with it, with no word of what.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportRefusedItemsTests : IDisposable
{
    private const string MigrationLog = "state.migration-v1.0.0-to-v2.1.0.log";

    private const string EpochTask = """{"id": "task_epoch", "description": "created_at in epoch ms", "status": "pending", "created_at": 1704103200000}""";

    private const string SpacedSession = """{"id": "sess b", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z"}""";

    private readonly StateFixture _fixture = new();

    public NodeImportRefusedItemsTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ItemsTheModelRefuses_AreLeftOut_KeptAside_AndReportedLost_TheRestOfTheSnapshotIsRead()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("state.json"), $$"""
            {"version": "1.0.0",
             "tasks": [
               {"id": "task_9", "description": "only in the snapshot", "status": "pending"},
               {{EpochTask}}
             ],
             "sessions": [
               {{SpacedSession}},
               {"id": "sess_only_here", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z"}
             ],
             "ui_theme": "dark"}
            """);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1", "task_2", "task_3", "task_9"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(["sess_a", "sess_a_b", "sess_only_here"], (await service.LoadSessionsAsync(ct)).Select(s => s.Id));
        Assert.Equal("dark", (await service.LoadStateAsync(ct)).ExtensionData!["ui_theme"].GetString());

        RecoveryReport report = service.LastRecovery!;
        Assert.Equal(2, report.Lost.Count);
        Assert.StartsWith("tasks[1] of state.json (id 'task_epoch') does not fit this library's model (", report.Lost[0], StringComparison.Ordinal);
        Assert.StartsWith("sessions[0] of state.json (id 'sess b') does not fit this library's model (", report.Lost[1], StringComparison.Ordinal);
        Assert.Contains("invalid", report.Lost[1], StringComparison.Ordinal);
        Assert.Equal(EpochTask, KeptAside("state.tasks-1"));
        Assert.Equal(SpacedSession, KeptAside("state.sessions-0"));
        Assert.All(report.Lost, lost => Assert.Contains(_fixture.StatePath, lost, StringComparison.Ordinal));

        string log = File.ReadAllText(_fixture.File(MigrationLog));
        Assert.Contains("  lost: tasks[1] of state.json (id 'task_epoch')", log, StringComparison.Ordinal);
        Assert.Contains("  lost: sessions[0] of state.json (id 'sess b')", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedItemWhoseOwnFileIsValid_CostsNothing_AndIsAWarning()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        const string NumericDescription = """{"id": "task_1", "description": 42, "status": "pending"}""";
        File.WriteAllText(_fixture.File("state.json"), $$"""
            {"version": "1.0.0", "tasks": [{{NumericDescription}}],
             "sessions": [{"id": "sess_only_here", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z"}]}
            """);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal("Implement authentication", (await service.LoadTaskAsync("task_1", ct))!.Description);
        Assert.NotNull(await service.LoadSessionAsync("sess_only_here", ct));
        RecoveryReport report = service.LastRecovery!;
        Assert.Empty(report.Lost);
        Assert.Contains(report.Warnings, w => w.StartsWith("tasks[0] of state.json (id 'task_1') does not fit this library's model (", StringComparison.Ordinal)
            && w.Contains("the task is in the state all the same", StringComparison.Ordinal));
        Assert.Equal(NumericDescription, KeptAside("state.tasks-0"));
    }

    /// <summary>With <c>state.json</c> unreadable, the newest backup is the snapshot: its refused items are handled the same way.</summary>
    [Fact]
    public async Task ARefusedItemOfTheNewestBackup_IsLeftOut_TheBackupsSessionsAreKept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        File.WriteAllText(_fixture.File("state.json"), """{"version": "1.0.0", "tasks": [{"id": "task_1", "sta""");
        File.WriteAllText(_fixture.File("state.backup.1704103320000.json"), $$"""
            {"version": "1.0.0", "tasks": [{{EpochTask}}],
             "sessions": [{"id": "sess_2", "type": "claude", "status": "active", "created_at": "2024-01-01T10:01:00Z"}],
             "ui_theme": "light"}
            """);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.NotNull(await service.LoadSessionAsync("sess_2", ct));
        Assert.Null(await service.LoadTaskAsync("task_epoch", ct));
        Assert.Equal("light", (await service.LoadStateAsync(ct)).ExtensionData!["ui_theme"].GetString());
        string lost = Assert.Single(service.LastRecovery!.Lost);
        Assert.StartsWith("tasks[0] of state.backup.20240101T100200-0000000Z.json (id 'task_epoch') does not fit this library's model (", lost, StringComparison.Ordinal);
        Assert.Equal(EpochTask, KeptAside("state.backup.20240101T100200-0000000Z.tasks-0"));
    }

    /// <summary>The migrated directory opens again with nothing more moved aside, and the copies kept are listed as moved aside.</summary>
    [Fact]
    public async Task AfterTheImport_TheNextStartMovesNothing_AndVerifyListsTheCopiesKeptAside()
    {
        File.WriteAllText(_fixture.File("state.json"), $$"""{"version": "1.0.0", "tasks": [{{EpochTask}}], "sessions": []}""");
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Single(service.LastRecovery!.Lost);
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Empty(reopened.LastRecovery!.Lost);
        Assert.Empty(reopened.LastRecovery.Quarantined);
        StateDirectoryVerification verification = StateDirectoryVerifier.Verify(_fixture.StatePath);
        Assert.True(verification.Ok, string.Join("; ", verification.Problems));
        Assert.Contains(verification.Quarantined, path => Path.GetFileName(path).StartsWith("state.tasks-0.corrupt.", StringComparison.Ordinal));
    }

    /// <summary>The one copy kept aside under <paramref name="stem"/>, as text.</summary>
    private string KeptAside(string stem) =>
        File.ReadAllText(Assert.Single(Directory.GetFiles(_fixture.StatePath, stem + ".corrupt.*.json")));
}
