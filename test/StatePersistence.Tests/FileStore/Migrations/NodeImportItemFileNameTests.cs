using StatePersistence.FileStore.Migrations;
using StatePersistence.Model;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// Node task and session files whose name is no valid id of this library (the Node server named a file after any id):
/// recovery skipped a name with a dot without a word, and the file stayed in <c>tasks/</c> for good.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportItemFileNameTests : IDisposable
{
    private const string DottedTask = """{"id": "t.5", "description": "a task under a dotted id", "status": "pending"}""";
    private const string DottedSession = """{"id": "s.1", "type": "claude", "status": "active", "created_at": "2024-01-01T10:00:00Z"}""";
    private const string SpacedTask = """{"id": "my task", "description": "a task under an id with a space", "status": "pending"}""";
    private const string Notes = "notes an operator left here\n";

    private readonly StateFixture _fixture = new();

    public NodeImportItemFileNameTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
        File.WriteAllText(_fixture.File("tasks", "t.5.json"), DottedTask);
        File.WriteAllText(_fixture.File("sessions", "s.1.json"), DottedSession);
        File.WriteAllText(_fixture.File("tasks", "my task.json"), SpacedTask);
        File.WriteAllText(_fixture.File("tasks", "notes.txt"), Notes);
    }

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ANodeItemFileNamedForNoValidId_IsMovedAside_Logged_AndReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.False(File.Exists(_fixture.File("tasks", "t.5.json")));
        Assert.False(File.Exists(_fixture.File("sessions", "s.1.json")));
        Assert.Equal(DottedTask, File.ReadAllText(Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "t.5.corrupt.*.json"))));
        Assert.Equal(DottedSession, File.ReadAllText(Assert.Single(Directory.GetFiles(_fixture.File("sessions"), "s.1.corrupt.*.json"))));
        string log = File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log"));
        Assert.Contains("tasks/t.5.json cannot be imported under its name (the task id 't.5' its name gives is not valid here: the id contains '.'", log, StringComparison.Ordinal);
        Assert.Contains("sessions/s.1.json cannot be imported under its name (the session id 's.1'", log, StringComparison.Ordinal);
        // Recovery moved this one aside already, as a corrupt file of a lost task; it is now named for what it is.
        Assert.Contains("tasks/my task.json cannot be imported under its name (the task id 'my task' its name gives is not valid here: the id contains ' '", log, StringComparison.Ordinal);
        Assert.Equal(SpacedTask, File.ReadAllText(Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "my task.corrupt.*.json"))));
        Assert.Contains(service.LastRecovery!.Quarantined, q => q.OriginalPath.EndsWith("tasks/t.5.json", StringComparison.Ordinal));
        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
    }

    /// <summary>A file the Node server never wrote is left where it is, as every start leaves it, and the log says so.</summary>
    [Fact]
    public async Task AFileThatIsNoNodeItemFile_IsLeftInPlace_AndTheLogSaysWhy()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        Assert.Equal(Notes, File.ReadAllText(_fixture.File("tasks", "notes.txt")));
        Assert.Contains("tasks/notes.txt: not a Node task file (those are '<id>.json'); left in place",
            File.ReadAllText(_fixture.File("state.migration-v1.0.0-to-v2.1.0.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollback_PutsTheFileBackByteForByte()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        SortedDictionary<string, string> before = DirectorySnapshot.Contents(_fixture.StatePath);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
        }

        await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct);

        Assert.Equal(before, DirectorySnapshot.Contents(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));
    }
}
