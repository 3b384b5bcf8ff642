using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.Cli.Tests.Reading;

/// <summary>
/// A directory whose <c>state.json</c> is unusable is read, as start-up recovery reads it, from the item files and
/// the journal: the read-only read must arrive at the revision the store resumes at when it opens the directory, not
/// 0 (its replay starts there, and after a clean shutdown no journal record follows the last checkpoint).
/// </summary>
public sealed class CorruptSnapshotReadTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("nul-filled")]
    [InlineData("truncated")]
    public async Task TheReadOnlyRead_HasTheRevisionRecoveryArrivesAt(string damage)
    {
        // The last change is a deletion: only the journal's segment header still remembers its revision.
        long lastRevision;
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            for (int i = 1; i <= 4; i++)
            {
                await writer.SaveTaskAsync(new Model.AgentTask { Id = $"task_{i}", Description = "task " + i, Status = "pending" }, Http.Ct);
                await writer.UpdateTaskAsync($"task_{i}", t => t.Status = "in_progress", Http.Ct);
            }

            await writer.DeleteTaskAsync("task_4", Http.Ct);
            lastRevision = writer.Revision;
        }

        Damage(Path.Combine(StatePath, "state.json"), damage);
        string copy = _temp.Combine("copy");
        DirectoryCopy.Copy(StatePath, copy);
        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StateDirectoryView read = StateDirectoryReader.Read(StatePath);
        long recovered;
        await using (var store = new FileStateStore(new StatePersistenceOptions { StatePath = copy }))
        {
            RecoveredState opened = await store.OpenAsync(Http.Ct);
            Assert.True(opened.Report.RebuiltFromItemFiles, "recovery must have rebuilt from the item files");
            recovered = opened.View.Revision;
        }

        Assert.Equal(lastRevision, recovered);
        Assert.Equal(recovered, read.View.Revision);
        Assert.Equal(["task_1", "task_2", "task_3"], read.View.Tasks.Keys);
        Assert.Contains(read.Problems, p => p.Path == Path.Combine(StatePath, "state.json"));
        StateFiles.AssertUnchanged(before, StatePath);
    }

    private static void Damage(string path, string damage)
    {
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage == "nul-filled" ? new byte[bytes.Length] : bytes[..(bytes.Length / 2)]);
    }
}
