using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Commit;
using StatePersistence.FileStore.Operations;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Reading;

public sealed class StateDirectoryReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Read_BesideARunningServerUnderLoad_IsAlwaysAConsistentPrefix()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        await using WriteLoad load = WriteLoad.Start(server);
        await load.WaitForAsync(writes: 5, checkpoints: 1);

        int reads = 0;
        int retried = 0;
        int checkpointsBefore = load.Checkpoints;
        while (reads < 40 || load.Checkpoints < checkpointsBefore + 5)
        {
            IReadOnlyDictionary<string, long> acknowledged = load.Acknowledged();
            StateDirectoryView read = StateDirectoryReader.Read(StatePath);
            reads++;
            retried += read.Attempts > 1 ? 1 : 0;

            Assert.True(read.Problems.Count == 0, string.Join("\n", read.Problems));
            foreach ((string id, long revision) in acknowledged)
            {
                Assert.True(read.View.Tasks.TryGetValue(id, out StoredItem? task), $"read {reads}: acknowledged task '{id}' is missing (view revision {read.View.Revision}, from {read.Source} at {read.SnapshotRevision})");
                Assert.True(task.Revision >= revision, $"read {reads}: task '{id}' is at revision {task.Revision}, older than the acknowledged {revision}");
            }

            foreach (StoredItem task in read.View.Tasks.Values)
            {
                using JsonDocument parsed = JsonDocument.Parse(task.Json);
                Assert.Equal(task.Id, parsed.RootElement.GetProperty("id").GetString());
                Assert.True(task.Revision <= read.View.Revision, $"task '{task.Id}' is newer than the view");
            }
        }

        Assert.True(load.Checkpoints >= checkpointsBefore + 5, "the reads must overlap checkpoints");
        TestContext.Current.SendDiagnosticMessage($"{reads} reads, {retried} retried, {load.Checkpoints} checkpoints, {load.Writes} tasks");
    }

    public void Dispose() => _temp.Dispose();
}
