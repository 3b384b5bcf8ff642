using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The item-file scrub over files this store cannot open for lack of a key: under a key revoked since they were
/// written, or sealed while the store now runs without any key. The files may be perfectly intact, so they are left
/// exactly as they are (never moved aside, never rewritten) and reported: health Degraded naming the file and the key,
/// the unreadable-files gauge.
/// </summary>
public sealed class ScrubUnderAnUnavailableKeyTests : IDisposable
{
    // A bound on background work, not a measure of its speed: the scrub runs on the thread pool, which a loaded
    // 2-core CI machine can keep from it for seconds (10 s was the whole margin).
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly string[] Tasks = ["t1", "t2", "t3"];
    private readonly StateFixture _fixture = new();

    public ScrubUnderAnUnavailableKeyTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        FirstKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
    }

    private string KeyFile { get; }

    private string FirstKey { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    private StatePersistenceService Create(string? keyFile, IMeterFactory? meters = null) =>
        FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.ReencryptionInterval = TimeSpan.Zero; // the files stay under the key they were written with
            o.ScrubInterval = TimeSpan.FromHours(1);
        }), timeProvider: _fixture.Time, meterFactory: meters);

    /// <summary>Task and session files sealed with the first key, then a clean stop.</summary>
    private async Task PopulateAsync()
    {
        await using StatePersistenceService service = Create(KeyFile);
        await service.StartAsync(Ct);
        foreach (string id in Tasks)
        {
            await service.SaveTaskAsync(StateFixture.Task(id, description: id), Ct);
        }

        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        await service.SaveSnapshotAsync(Ct);
    }

    /// <summary>Starts with <paramref name="keyFile"/> and snapshots, so state.json is under what it now seals with; the item files are not rewritten.</summary>
    private async Task ResnapshotAsync(string? keyFile)
    {
        await using StatePersistenceService service = Create(keyFile);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t-new", description: "after"), Ct);
        await service.SaveSnapshotAsync(Ct);
    }

    private Dictionary<string, byte[]> ItemFiles() =>
        Directory.GetFiles(_fixture.File("tasks")).Concat(Directory.GetFiles(_fixture.File("sessions")))
            .Where(f => !Path.GetFileName(f).StartsWith("t-new", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);

    private void AssertUnchanged(Dictionary<string, byte[]> before)
    {
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));
        Dictionary<string, byte[]> after = ItemFiles();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, entry => Assert.True(entry.Value.AsSpan().SequenceEqual(after[entry.Key]), $"'{entry.Key}' changed"));
    }

    /// <summary>Starts, waits for the start-up scrub to finish, and checks what it reported; the service stops cleanly after.</summary>
    private async Task AssertTheScrubLeavesThemAndReportsAsync(string? keyFile, string named)
    {
        Dictionary<string, byte[]> before = ItemFiles();
        Assert.Equal(Tasks.Length + 1, before.Count);
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var scrubs = new MetricCollector<double>(factory, StateMeter.Name, "statepersistence.scrub.duration");
        using var unreadable = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.unreadable.files");
        await using (StatePersistenceService service = Create(keyFile, factory))
        {
            await service.StartAsync(Ct);
            await scrubs.WaitForMeasurementsAsync(1, Patience);

            StateHealth health = service.CheckHealth();
            Assert.Equal(StateHealthStatus.Degraded, health.Status);
            Assert.False(health.CorruptionDetected);
            Assert.Contains(health.Reasons, r => r.Contains(_fixture.File("tasks", "t1.json"), StringComparison.Ordinal) && r.Contains(named, StringComparison.Ordinal));
            unreadable.RecordObservableInstruments();
            Assert.Equal(Tasks.Length + 1, unreadable.LastMeasurement!.Value);

            // The state in memory still serves every item.
            Assert.Equal("t2", (await service.LoadTaskAsync("t2", Ct))!.Description);
            AssertUnchanged(before);
        }

        // Neither the checkpoint after the scrub nor the final one rewrote them.
        AssertUnchanged(before);
    }

    [Fact]
    public async Task ItemFilesUnderARevokedKey_AreLeftAsTheyAre_AndReported_NeverQuarantinedNorRewritten()
    {
        // The audit: keys rotate, keys retire OLD --revoke, restart: every task and session file was moved aside.
        await PopulateAsync();
        EncryptionKeyRing ring = EncryptionKeyFile.Read(KeyFile);
        EncryptionKeyFile.Write(KeyFile, ring.WithActive(EncryptionKey.Generate("k-next", EncryptionKeyState.Active, _fixture.Time.GetUtcNow())));
        await ResnapshotAsync(KeyFile);
        EncryptionKeyFile.Write(KeyFile, EncryptionKeyFile.Read(KeyFile).WithState(FirstKey, EncryptionKeyState.Revoked));

        await AssertTheScrubLeavesThemAndReportsAsync(KeyFile, $"'{FirstKey}', which is revoked");
    }

    [Fact]
    public async Task SealedItemFiles_UnderAStoreStartedWithoutAnyKey_AreLeftAsTheyAre_AndReported()
    {
        // Encryption turned off (keys disable), then a restart without the key before the re-encryption finished:
        // state.json is in the clear, the item files still sealed.
        await PopulateAsync();
        EncryptionKeyFile.Write(KeyFile, EncryptionKeyFile.Read(KeyFile).WithoutActive());
        await ResnapshotAsync(KeyFile);

        await AssertTheScrubLeavesThemAndReportsAsync(keyFile: null, AesGcmCodec.CodecName);
    }
}
