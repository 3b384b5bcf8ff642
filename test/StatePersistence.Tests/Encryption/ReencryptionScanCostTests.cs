using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// What the background re-encryption's first step costs at start-up when everything is already under the active key:
/// it must tell every item file's key from its header alone, without allocating per file (a 100k-task directory
/// would otherwise allocate about 1.3 KB per file, some 126 MiB, at every start). Measured in bytes allocated on the
/// test's thread by one step over real files, never in time.
/// </summary>
public sealed class ReencryptionScanCostTests(ITestOutputHelper output) : IDisposable
{
    private const int Tasks = 2000;

    /// <summary>
    /// What a file may cost beyond its name (as listed) and its path, the two strings the step cannot avoid: the OS
    /// handle it reads the header through. Before the header was read through a bare handle and names were listed
    /// without their full paths first, a file cost about 400 bytes more (712 in all, here).
    /// </summary>
    private const int HandleBytes = 160;

    /// <summary>The step's allocations besides the item files: listings and a few headers, no file read whole.</summary>
    private const int FixedBytes = 256 * 1024;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task FirstStep_OverItemFilesAlreadyUnderTheActiveKey_AllocatesNoMoreThanTheirNamesPerFile()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        EncryptionKeyFile.Create(keyFile);
        await using (StatePersistenceService writer = await OpenAsync(keyFile, ct))
        {
            for (int i = 0; i < Tasks; i++)
            {
                await writer.SaveTaskAsync(StateFixture.Task($"task-{i:D5}"), ct);
            }

            await writer.SaveSnapshotAsync(ct);
        }

        Assert.Equal(Tasks, Directory.GetFiles(_fixture.File("tasks")).Length);
        await using StatePersistenceService service = await OpenAsync(keyFile, ct);
        var store = (IReencryptingStore)service.Store;
        StateView current = service.Durable;

        // Warmed once (JIT, the envelope's statics), then measured over every item file, and again with half of them
        // gone from the disk (the state still holds them): the difference is what the files themselves cost, not the
        // step's fixed share (state.json, the journal segments, the backups).
        Assert.Equal(0, (await store.ReencryptStepAsync(current, 32, ct)).Remaining);
        long all = await AllocatedByStepAsync(store, current, ct);
        foreach (string file in Directory.GetFiles(_fixture.File("tasks")).Order(StringComparer.Ordinal).Take(Tasks / 2))
        {
            File.Delete(file);
        }

        long half = await AllocatedByStepAsync(store, current, ct);
        long perFile = (all - half) / (Tasks / 2);
        string sample = Directory.GetFiles(_fixture.File("tasks"))[0];
        long bound = StringBytes(Path.GetFileName(sample)) + StringBytes(sample) + HandleBytes;
        output.WriteLine($"one re-encryption step over {Tasks} item files under the active key: {all} bytes allocated; over {Tasks / 2}: {half}; {perFile} per file (bound {bound})");
        Assert.True(perFile < bound, $"one step allocated {perFile} bytes per item file ({all} over {Tasks}, {half} over {Tasks / 2}); the bound is {bound}");

        // The rest is the step's fixed share: state.json's and the backups' headers, and the journal segments (4 MiB
        // each, zero-filled ahead), which were read whole into new arrays before they were scanned in pooled chunks.
        long journal = Directory.GetFiles(_fixture.File("journal")).Sum(f => new FileInfo(f).Length);
        long fixedShare = half - (perFile * (Tasks / 2));
        output.WriteLine($"the step's fixed share: {fixedShare} bytes, beside {journal} bytes of journal segments");
        Assert.True(journal >= 4 << 20, "the directory holds no journal segment to scan");
        Assert.True(fixedShare < FixedBytes, $"one step's fixed share allocated {fixedShare} bytes beside {journal} bytes of journal; the bound is {FixedBytes}");
    }

    /// <summary>A string's size on the 64-bit heap: header, length and terminator, two bytes a character, 8-byte aligned.</summary>
    private static long StringBytes(string text) => (22 + (2 * text.Length) + 7) / 8 * 8;

    /// <summary>The bytes one step allocates on this thread; it must run synchronously, or its allocations would not all be counted.</summary>
    private static async Task<long> AllocatedByStepAsync(IReencryptingStore store, StateView current, CancellationToken ct)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        ValueTask<ReencryptionStep> step = store.ReencryptStepAsync(current, 32, ct);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(step.IsCompletedSuccessfully, "the step did not complete on the calling thread, so its allocations were not all counted");
        Assert.Equal(0, (await step).Remaining);
        return allocated;
    }

    private async Task<StatePersistenceService> OpenAsync(string keyFile, CancellationToken ct)
    {
        StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.Durability = Durability.Relaxed;
            o.ReencryptionInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
        }), timeProvider: _fixture.Time);
        await service.StartAsync(ct);
        return service;
    }
}
