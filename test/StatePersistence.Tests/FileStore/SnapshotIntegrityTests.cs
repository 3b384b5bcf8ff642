using System.Text;
using System.Text.RegularExpressions;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Issue 10 items 1 and 2: a state.json that does not parse into the model, or parses but is wrong.</summary>
public sealed partial class SnapshotIntegrityTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("3e5")]
    [InlineData("99999999999999999999")]
    [InlineData("-1.5")]
    public async Task RevisionThatDoesNotFitTheModel_IsQuarantined_NotACrash(string revision)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        string statePath = _fixture.File("state.json");
        string corrupt = RevisionPattern().Replace(await File.ReadAllTextAsync(statePath, ct), $"\"revision\": {revision}");
        await File.WriteAllTextAsync(statePath, corrupt, ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1", "task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(statePath, Assert.Single(service.LastRecovery!.Quarantined).OriginalPath);
        Assert.False(File.Exists(statePath));
    }

    [Theory]
    [InlineData("3e5")]
    [InlineData("99999999999999999999")]
    public async Task OldStateWithoutChecksum_WhoseRevisionDoesNotFit_IsQuarantined_NotACrash(string revision)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(_fixture.File("tasks"));
        await File.WriteAllTextAsync(_fixture.File("state.json"), $$"""{"version":"2.0.0","revision":{{revision}},"tasks":[]}""", ct);
        await File.WriteAllTextAsync(_fixture.File("tasks", "task_1.json"), """{"id":"task_1","status":"pending"}""", ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Single(service.LastRecovery!.Quarantined);
    }

    [Fact]
    public async Task FlippedPropertyName_IsCaughtByTheChecksum_AndNoTaskFileIsDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        string statePath = _fixture.File("state.json");
        byte[] bytes = await File.ReadAllBytesAsync(statePath, ct);
        int at = IndexOf(bytes, "\"tasks\""u8) + 4;
        bytes[at] ^= 0x20; // "tasks" -> "tasKs": still valid JSON
        await File.WriteAllBytesAsync(statePath, bytes, ct);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(["task_1", "task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
            Assert.Equal(statePath, Assert.Single(service.LastRecovery!.Quarantined).OriginalPath);
            Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth().Status);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.True(File.Exists(_fixture.File("tasks", "task_1.json")));
        Assert.True(File.Exists(_fixture.File("tasks", "task_2.json")));
    }

    [Fact]
    public async Task RaisedRevision_IsCaughtByTheChecksum_AndTheJournalIsReplayed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        StatePersistenceService writer = await _fixture.OpenAsync();
        await writer.SaveTaskAsync(StateFixture.Task("task_3"), ct);
        await StateFixture.CrashAsync(writer);
        string statePath = _fixture.File("state.json");
        string text = await File.ReadAllTextAsync(statePath, ct);
        await File.WriteAllTextAsync(statePath, RevisionPattern().Replace(text, "\"revision\": 1000"), ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1", "task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Single(service.LastRecovery!.Quarantined);
    }

    [Fact]
    public async Task TaskFileCopiedOverStateJson_IsNotTakenForAState()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        string statePath = _fixture.File("state.json");
        File.Copy(_fixture.File("tasks", "task_1.json"), statePath, overwrite: true);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1", "task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(statePath, Assert.Single(service.LastRecovery!.Quarantined).OriginalPath);
        Assert.Null((await service.LoadStateAsync(ct)).ExtensionData);
    }

    [Fact]
    public async Task StateJsonWithoutChecksum_FromThePreviousRelease_IsStillRead()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(_fixture.File("tasks"));
        await File.WriteAllTextAsync(_fixture.File("state.json"), """
            {"version":"2.0.0","revision":0,"last_saved":"2024-01-01T10:00:00Z",
             "tasks":[{"id":"task_1","status":"pending"}],"sessions":[],"app":1}
            """, ct);
        await File.WriteAllTextAsync(_fixture.File("tasks", "task_1.json"), """{"id":"task_1","status":"pending"}""", ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(service.LastRecovery!.Quarantined);
        Assert.Equal("state.json", service.LastRecovery.SnapshotSource);
    }

    [Fact]
    public async Task StateJson_CarriesAChecksum_AndStaysReadableJson()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);

        string text = await File.ReadAllTextAsync(_fixture.File("state.json"), ct);
        using var document = System.Text.Json.JsonDocument.Parse(text);
        Assert.Matches("^crc32:[0-9a-f]{8}$", document.RootElement.GetProperty("checksum").GetString());
    }

    [Fact]
    public async Task Sweep_KeepsAnItemFileTheSnapshotDoesNotList_WhenNoDeletionOfItIsRecorded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        byte[] stray = Encoding.UTF8.GetBytes("""{"id":"task_9","status":"pending"}""");
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_9.json"), stray, ct);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_3"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        string kept = Assert.Single(Directory.GetFiles(_fixture.File("tasks"), "task_9*.json"));
        Assert.Equal(stray, await File.ReadAllBytesAsync(kept, ct));
    }

    [Fact]
    public async Task Sweep_StillDeletesTheFileOfATaskWhoseDeletionTheJournalReplayed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        StatePersistenceService writer = await _fixture.OpenAsync();
        await writer.DeleteTaskAsync("task_1", ct);
        await StateFixture.CrashAsync(writer);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(["task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Empty(Directory.GetFiles(_fixture.File("tasks"), "task_1*"));
    }

    [Fact]
    public async Task Sweep_DeletesTheFileOfATaskTheSnapshotRecordsAsDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        byte[] old = await File.ReadAllBytesAsync(_fixture.File("tasks", "task_1.json"), ct);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.DeleteTaskAsync("task_1", ct);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Contains("\"deleted_tasks\": [\n    \"task_1\"", (await File.ReadAllTextAsync(_fixture.File("state.json"), ct)).ReplaceLineEndings("\n"), StringComparison.Ordinal);

        // The deletion's directory entry did not survive (Relaxed durability and a power cut): the file is back.
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_1.json"), old, ct);
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(["task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
            await service.SaveTaskAsync(StateFixture.Task("task_3"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Empty(Directory.GetFiles(_fixture.File("tasks"), "task_1*"));
    }

    private async Task WriteSnapshotAsync(CancellationToken ct)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2", TaskStatuses.Completed), ct);
        await service.SaveSnapshotAsync(ct);
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    [GeneratedRegex("\"revision\": ?[0-9]+")]
    private static partial Regex RevisionPattern();
}
