using System.Buffers;
using StatePersistence.Commit;
using StatePersistence.FileStore.Journal;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Appending to a task's log journals only the entry, survives a crash, and replays idempotently.</summary>
public sealed class TaskLogAppendTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static TaskLogEntry Entry(int i, int messageBytes = 16) => new()
    {
        Timestamp = new DateTimeOffset(2024, 1, 1, 11, 0, 0, TimeSpan.Zero).AddSeconds(i),
        Level = "info",
        Type = "output",
        Message = $"entry {i} " + new string('x', messageBytes),
    };

    private string[] Segments() => Directory.GetFiles(_fixture.File("journal"), "*.wal");

    /// <summary>The bytes the journal's records take: segments are zero-filled ahead, so up to the last non-zero byte.</summary>
    private long JournalBytesUsed() =>
        Segments().Sum(s => (long)File.ReadAllBytes(s).AsSpan().LastIndexOfAnyExcept((byte)0) + 1);

    [Fact]
    public async Task Appends_JournalOnlyTheEntry_SoBytesPerAppendStayBoundedAsTheLogGrows()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        long start = JournalBytesUsed();

        const int Appends = 200;
        var used = new long[Appends + 1];
        used[0] = start;
        for (int i = 0; i < Appends; i++)
        {
            Assert.NotNull(await service.AppendTaskLogAsync("t1", Entry(i, 1024), ct));
            used[i + 1] = JournalBytesUsed();
        }

        // Each append costs about its entry (1 KB plus framing), whatever the log's length: the second hundred costs
        // what the first did. Journaling the whole task each time would take about 200 * 201 / 2 KB = 20 MB.
        long firstHalf = used[Appends / 2] - used[0];
        long secondHalf = used[Appends] - used[Appends / 2];
        long perAppendLimit = 1024 + 512;
        Assert.True(used[Appends] - start < Appends * perAppendLimit, $"{Appends} appends took {used[Appends] - start} journal bytes.");
        Assert.True(secondHalf < firstHalf * 1.1, $"The first 100 appends took {firstHalf} bytes, the next 100 {secondHalf}.");
        Assert.Equal(Appends, (await service.LoadTaskAsync("t1", ct))!.Logs.Count);
    }

    [Fact]
    public async Task Appends_SurviveACrash_EveryEntryInOrder_WithUpdatedAtOfTheLast()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        AgentTask? returned = null;
        for (int i = 0; i < 10; i++)
        {
            returned = await first.AppendTaskLogAsync(i % 3 == 2 ? "t2" : "t1", Entry(i), ct);
        }

        byte[] inMemory = Serialization.ItemCodec.Serialize((await first.LoadTaskAsync("t1", ct))!);
        await StateFixture.CrashAsync(first);

        await using StatePersistenceService second = await _fixture.OpenAsync();
        AgentTask t1 = (await second.LoadTaskAsync("t1", ct))!;
        Assert.Equal(["entry 0", "entry 1", "entry 3", "entry 4", "entry 6", "entry 7", "entry 9"],
            t1.Logs.Select(l => l.Message![..l.Message!.IndexOf(' ', 6)]));
        Assert.Equal(Entry(9).Timestamp, t1.UpdatedAt);
        Assert.Equal(inMemory, Serialization.ItemCodec.Serialize(t1));
        Assert.Equal(3, (await second.LoadTaskAsync("t2", ct))!.Logs.Count);
        Assert.Equal(returned!.UpdatedAt, t1.UpdatedAt);
        Assert.Empty(second.LastRecovery!.Lost);
        Assert.Equal(0, second.LastRecovery.JournalRecordsReplayed - 12);
    }

    [Fact]
    public async Task Append_ToAMissingTask_ReturnsNullAndWritesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        long before = JournalBytesUsed();
        Assert.Null(await service.AppendTaskLogAsync("nope", Entry(0), ct));
        Assert.Equal(before, JournalBytesUsed());
    }

    [Fact]
    public async Task Append_WithoutTimestamp_IsStampedNow_AndARefusingCheckStoresNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        var entry = new TaskLogEntry { Level = "info", Type = "system", Message = "hi" };
        AgentTask updated = (await service.AppendTaskLogAsync("t1", entry, ct))!;
        Assert.Null(entry.Timestamp);
        Assert.Equal(_fixture.Time.GetUtcNow(), updated.Logs.Single().Timestamp);
        Assert.Equal(_fixture.Time.GetUtcNow(), updated.UpdatedAt);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await service.AppendTaskLogAsync("t1", Entry(1), _ => throw new InvalidOperationException("refused"), ct));
        Assert.Single((await service.LoadTaskAsync("t1", ct))!.Logs);
    }

    [Fact]
    public async Task Replay_OverATaskFileThatAlreadyHoldsTheEntries_DoesNotDuplicateThem()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        for (int i = 0; i < 3; i++)
        {
            await first.AppendTaskLogAsync("t1", Entry(i), ct);
        }

        await first.SaveSnapshotAsync(ct);
        await first.AppendTaskLogAsync("t1", Entry(3), ct);
        await first.AppendTaskLogAsync("t1", Entry(4), ct);
        Dictionary<string, byte[]> journal = Segments().ToDictionary(s => s, File.ReadAllBytes);
        // This checkpoint writes the task file with all five entries and deletes the segments holding appends 3 and 4.
        await first.SaveSnapshotAsync(ct);
        await StateFixture.CrashAsync(first);

        // Put the covered segments back and lose state.json: recovery rebuilds from the task file (five entries) and
        // replays the journal's appends 3 and 4 over it.
        // Only the segments the checkpoint deleted: the spare captured above (zeros then) has since been started by the
        // checkpoint's cut, and journal-head.json rightly reports a started segment found zeroed as a loss.
        foreach ((string path, byte[] bytes) in journal.Where(s => !File.Exists(s.Key)))
        {
            await File.WriteAllBytesAsync(path, bytes, ct);
        }

        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.True(second.LastRecovery!.JournalRecordsReplayed >= 2);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => Entry(i).Message), (await second.LoadTaskAsync("t1", ct))!.Logs.Select(l => l.Message));
        Assert.Empty(second.LastRecovery.Lost);
    }

    [Fact]
    public async Task Replay_OfAnAppendToATaskWithFewerEntries_IsReportedAsLost_NotACrash()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveSnapshotAsync(ct);
        byte[] withoutEntries = await File.ReadAllBytesAsync(_fixture.File("tasks", "t1.json"), ct);
        await first.AppendTaskLogAsync("t1", Entry(0), ct);
        await first.SaveSnapshotAsync(ct);
        await first.AppendTaskLogAsync("t1", Entry(1), ct);
        await StateFixture.CrashAsync(first);

        // The task file goes back to before entry 0 and state.json is lost: the journal's append of entry 1 finds
        // a task with no entries.
        await File.WriteAllBytesAsync(_fixture.File("tasks", "t1.json"), withoutEntries, ct);
        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.Empty((await second.LoadTaskAsync("t1", ct))!.Logs);
        Assert.Contains(second.LastRecovery!.Lost, l => l.Contains("appends log entry 1 to task 't1'", StringComparison.Ordinal)
            && l.Contains("holds only 0 entries", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replay_OfAnAppendToAMissingTask_IsReportedAsLost()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveSnapshotAsync(ct);
        await first.AppendTaskLogAsync("t1", Entry(0), ct);
        await StateFixture.CrashAsync(first);
        File.Delete(_fixture.File("tasks", "t1.json"));
        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService second = await _fixture.OpenAsync();
        Assert.Null(await second.LoadTaskAsync("t1", ct));
        Assert.Contains(second.LastRecovery!.Lost, l => l.Contains("appends log entry 0 to task 't1', which the recovered state does not hold", StringComparison.Ordinal));
    }

    [Fact]
    public void JournalFormat_AppendCarriesItsIndex_AndOlderKindsKeepTheirLayout()
    {
        var output = new ArrayBufferWriter<byte>();
        JournalFormat.EncodeChanges(output, [
            new StateChange(ChangeKind.PutTask, "a", "{}"u8.ToArray()),
            new StateChange(ChangeKind.AppendTaskLog, "a", "{\"message\":\"m\"}"u8.ToArray()) { LogIndex = 7 },
            new StateChange(ChangeKind.DeleteTask, "b", null),
        ]);

        // count 3 | kind 1, id "a", json "{}" | kind 6, id "a", index 7, json | kind 2, id "b", no json
        byte[] put = [1, 1, 0, 0, 0, (byte)'a', 2, 0, 0, 0, (byte)'{', (byte)'}'];
        Assert.Equal([3, 0, 0, 0, .. put], output.WrittenSpan[..16].ToArray());
        Assert.Equal([6, 1, 0, 0, 0, (byte)'a', 7, 0, 0, 0, 15, 0, 0, 0], output.WrittenSpan[16..30].ToArray());

        List<StateChange> decoded = JournalFormat.DecodeChanges(output.WrittenSpan);
        Assert.Equal([ChangeKind.PutTask, ChangeKind.AppendTaskLog, ChangeKind.DeleteTask], decoded.Select(c => c.Kind));
        Assert.Equal(7, decoded[1].LogIndex);
        Assert.Equal("{\"message\":\"m\"}"u8.ToArray(), decoded[1].Json);
        Assert.Null(decoded[2].Json);
    }
}
