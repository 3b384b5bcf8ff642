using System.Text.Json;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Start-up replays the journal a window of records at a time (parsed on every core, then applied in order), so its
/// memory does not grow with the journal. Records that depend on earlier ones (a log append resolved against the task
/// as replayed so far, an update after a delete) must come out the same however the windows fall.
/// </summary>
public sealed class ReplayWindowTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private async Task<StatePersistenceService> OpenAsync(int replayWindowBytes)
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time) { ReplayWindowBytes = replayWindowBytes };
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    private static async Task<string> StateOfAsync(StatePersistenceService service)
    {
        using var stream = new MemoryStream();
        await service.WriteStateAsync(stream, TestContext.Current.CancellationToken);
        using JsonDocument state = JsonDocument.Parse(stream.ToArray());
        // The time of the last save differs between two starts; everything else must be equal.
        return string.Join('\n', state.RootElement.EnumerateObject().Where(p => p.Name is not ("lastSaved" or "last_saved")).Select(p => p.ToString()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2_000)]
    [InlineData(FileRecovery.DefaultReplayWindowBytes)]
    public async Task A_journal_replayed_in_windows_gives_the_state_that_was_acknowledged(int windowBytes)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService writer = await OpenAsync(FileRecovery.DefaultReplayWindowBytes);
        for (int i = 0; i < 30; i++)
        {
            await writer.SaveTaskAsync(StateFixture.Task($"t{i % 7}", description: $"version {i} " + new string('x', 300)), ct);
            await writer.AppendTaskLogAsync($"t{i % 7}", new TaskLogEntry { Level = "info", Type = "output", Message = $"entry {i}" }, ct);
            if (i % 5 == 4)
            {
                await writer.DeleteTaskAsync($"t{(i + 3) % 7}", ct);
            }

            await writer.SaveSessionAsync(new SessionInfo { Id = $"s{i % 3}", Type = "interactive", Status = i % 2 == 0 ? "active" : "idle" }, ct);
        }

        await writer.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "output", Message = "last" }, ct);
        string acknowledged = await StateOfAsync(writer);
        long revision = writer.Revision;
        await StateFixture.CrashAsync(writer);

        await using StatePersistenceService reader = await OpenAsync(windowBytes);
        Assert.Empty(reader.LastRecovery!.Lost);
        Assert.True(reader.LastRecovery.JournalRecordsReplayed >= 97, $"{reader.LastRecovery.JournalRecordsReplayed} records replayed");
        Assert.Equal(revision, reader.Revision);
        Assert.Equal(acknowledged, await StateOfAsync(reader));
        Assert.Equal(["info: entry 29", "info: last"], (await reader.LoadTaskAsync("t1", ct))!.Logs!.TakeLast(2).Select(l => $"{l.Level}: {l.Message}"));
    }
}
