using System.Text;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Redaction;

/// <summary>
/// The task log messages of a whole-state save (<see cref="StatePersistenceService.SaveStateAsync"/>, and the backup
/// restore that goes through it) are redacted as those of a task saved on its own. Before 2026-12-07 they were stored as
/// given: a secret <c>SaveTaskAsync</c> had redacted came back in clear with the next whole-state save that held it.
/// </summary>
public sealed class WholeStateRedactionTests : IDisposable
{
    private const string AwsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string Text = $"aws_secret_access_key = {AwsSecret}";
    private const string Redacted = "aws_secret_access_key = [REDACTED:aws-secret-access-key]";

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static AgentTask Logged(string id)
    {
        AgentTask task = StateFixture.Task(id);
        task.Logs.Add(new TaskLogEntry { Level = "info", Type = "output", Message = Text });
        return task;
    }

    /// <summary>The files under the state directory (journal, snapshot, backups, item files) that hold <paramref name="text"/>.</summary>
    private string[] FilesHolding(string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        return [.. Directory.EnumerateFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock" && File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0)];
    }

    [Fact]
    public async Task TaskLogsOfAWholeStateSave_AreStoredRedacted_TheCallersStateUntouched()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var state = new PersistedState { Tasks = [Logged("t1"), Logged("t2")] };
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            // t1 is stored redacted first: the whole-state save must not put the secret back over it.
            await service.SaveTaskAsync(Logged("t1"), ct);
            await service.SaveStateAsync(state, ct);

            Assert.All(state.Tasks, t => Assert.Equal(Text, Assert.Single(t.Logs).Message));
            Assert.Equal(Redacted, Assert.Single((await service.LoadTaskAsync("t1", ct))!.Logs).Message);
            Assert.Equal(Redacted, Assert.Single((await service.LoadTaskAsync("t2", ct))!.Logs).Message);
            Assert.All((await service.LoadStateAsync(ct)).Tasks, t => Assert.Equal(Redacted, Assert.Single(t.Logs).Message));
        }

        Assert.Empty(FilesHolding(AwsSecret));
    }

    [Fact]
    public async Task RestoringABackupWrittenWithRedactionOff_StoresItsTaskLogsRedacted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService unredacted = await _fixture.OpenAsync(o => o.Redaction.Enabled = false))
        {
            await unredacted.SaveTaskAsync(Logged("t1"), ct);
            await unredacted.SaveSnapshotAsync(ct);
            await unredacted.SaveTaskAsync(StateFixture.Task("t2"), ct);
            await unredacted.SaveSnapshotAsync(ct);
        }

        string backup = Path.GetFileName(Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json")));
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await StateBackups.RestoreAsync(service, backup, ct);

        Assert.Equal(["t1"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(Redacted, Assert.Single((await service.LoadTaskAsync("t1", ct))!.Logs).Message);
    }
}
