using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Journal segments are bounded in size: appends start a new segment before one passes the bound, whether or not
/// checkpoints run. Before 2026-12-07 only a checkpoint's cut (or a failed append) started one, so with checkpoints off
/// or far apart a segment grew past 2 GiB, and start-up, which reads a segment whole, could not open the store again.
/// </summary>
public sealed class JournalSegmentBoundTests : IDisposable
{
    private const long Bound = 8 << 10;
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private string[] Segments() => Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal).ToArray();

    /// <summary>No checkpoint but the one a clean close would write: the journal is the only copy of every save.</summary>
    private static void Configure(StatePersistenceOptions o)
    {
        o.AutosaveInterval = TimeSpan.Zero;
        o.CheckpointAfterBytes = 0;
        o.JournalPreallocationBytes = 1024;
        o.JournalSegmentBound = Bound;
    }

    private Task<StatePersistenceService> OpenAsync() => _fixture.OpenAsync(Configure);

    private string[] FilesAndLengths() => Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
        .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(f => $"{f} {new FileInfo(f).Length}").ToArray();

    private static AgentTask Task(int i, int descriptionBytes = 500) => StateFixture.Task($"t{i:D3}", description: new string('d', descriptionBytes) + i);

    [Fact]
    public async Task AppendsPastTheBound_StartNewSegments_AndACrashLosesNoSave()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await OpenAsync();
        for (int i = 0; i < 60; i++)
        {
            await service.SaveTaskAsync(Task(i), ct);
        }

        await StateFixture.CrashAsync(service);

        string[] segments = Segments();
        Assert.True(segments.Length >= 3, $"expected the journal to roll over to several segments, found {segments.Length}");
        Assert.All(segments, s => Assert.True(new FileInfo(s).Length <= Bound, $"'{s}' is {new FileInfo(s).Length} bytes, past the bound of {Bound}"));
        Assert.Empty(Directory.GetFiles(_fixture.File("journal"), "*.failed"));

        await using StatePersistenceService restarted = await OpenAsync();
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"t{i:D3}"), (await restarted.LoadTasksAsync(ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
        Assert.Empty(restarted.LastRecovery!.Lost);
        Assert.DoesNotContain(restarted.LastRecovery.DroppedJournalBytes, d => d.Damage);
    }

    [Fact]
    public async Task ASaveLargerThanTheBound_GoesInAloneIntoASegmentOfItsOwn()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await OpenAsync();
        await service.SaveTaskAsync(Task(1), ct);
        await service.SaveTaskAsync(Task(2, descriptionBytes: (int)Bound * 2), ct);
        await service.SaveTaskAsync(Task(3), ct);
        await StateFixture.CrashAsync(service);

        long[] lengths = Segments().Select(s => new FileInfo(s).Length).ToArray();
        Assert.Single(lengths, l => l > Bound);
        Assert.True(lengths.Length >= 3, $"the large save should sit alone between the others, found {lengths.Length} segment(s)");

        await using StatePersistenceService restarted = await OpenAsync();
        Assert.Equal(["t001", "t002", "t003"], (await restarted.LoadTasksAsync(ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
        Assert.Empty(restarted.LastRecovery!.Lost);
    }

    [Fact]
    public async Task ASegmentTooLargeToRead_IsRefusedSayingWhatToDo_AndNothingIsChanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await OpenAsync();
        await service.SaveTaskAsync(Task(1), ct);
        await StateFixture.CrashAsync(service);

        // What a build without the bound left: a segment past 2 GiB (sparse here: its length is what start-up checks).
        string segment = Segments()[^1];
        using (var stream = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(2306867200);
        }

        string[] before = FilesAndLengths();

        StatePersistenceService reopened = _fixture.Create(Configure);
        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () => await reopened.StartAsync(ct));
        await reopened.DisposeAsync();

        Assert.Contains(segment, refused.Message, StringComparison.Ordinal);
        Assert.Contains("before 2026-12-07", refused.Message, StringComparison.Ordinal);
        Assert.Contains("move the segment out of the journal directory", refused.Message, StringComparison.Ordinal);
        Assert.False(refused.IsTransient);
        Assert.Equal(before, FilesAndLengths());
    }

    [Fact]
    public async Task RecordsWrittenAnewAtStartUp_AreSplitAtTheBound_AndTheNextStartReadsThemAll()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await OpenAsync();
        for (int i = 0; i < 60; i++)
        {
            await service.SaveTaskAsync(Task(i), ct);
        }

        await StateFixture.CrashAsync(service);

        // The marker a failed append leaves beside the first segment: the next start writes everything from it on anew.
        string[] written = Segments();
        await File.WriteAllBytesAsync(written[0] + ".failed", [], ct);

        StatePersistenceService rewriting = await OpenAsync();
        string[] rewritten = Segments().Except(written).ToArray();
        Assert.All(Segments(), s => Assert.True(new FileInfo(s).Length <= Bound, $"'{s}' is {new FileInfo(s).Length} bytes, past the bound of {Bound}"));
        // Besides the spare every start prepares.
        Assert.True(rewritten.Length >= 3, $"expected the records written anew to fill several segments, found {rewritten.Length}");
        await rewriting.SaveTaskAsync(Task(60), ct);
        await StateFixture.CrashAsync(rewriting);

        await using StatePersistenceService restarted = await OpenAsync();
        Assert.Equal(Enumerable.Range(0, 61).Select(i => $"t{i:D3}"), (await restarted.LoadTasksAsync(ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
        Assert.Empty(restarted.LastRecovery!.Lost);
    }
}
