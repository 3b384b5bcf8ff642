using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.Model;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// Task archives (<c>archive/tasks.*.tar.gz</c>) under the background re-encryption, through the real file store (a
/// real key file, real AES-GCM, real fsync): after a rotation every entry is sealed again under the new key, so the old
/// key can be removed; after encryption is turned off the archive is rewritten in the clear, so it restores without any
/// key; a damaged archive is left byte for byte as it was and reported once.
/// </summary>
public sealed class ArchiveReencryptionTests : IDisposable
{
    private const string Description = "HERON-archived-description-5521";
    private const string LogLine = "HERON-archived-log-line-0b7d\n";
    private const string ReportText = "HERON-archived-report-77e1";
    private readonly StateFixture _fixture = new();
    private readonly FakeLoggerProvider _logs = new();
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public ArchiveReencryptionTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
    }

    private string KeyFile { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    public void Dispose()
    {
        _logs.Dispose();
        _metrics.Dispose();
        _fixture.Dispose();
    }

    [Fact]
    public async Task AfterARotation_AnArchiveIsSealedAgainUnderTheNewKey_SoTheOldKeyCanBeRemoved_AndItStillRestores()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        string newKey;
        string archive;
        await using (StatePersistenceService service = await OpenAsync(encrypted: true))
        {
            archive = await ArchiveOneTaskAsync(service);
            Assert.Equal([oldKey, oldKey, oldKey], KeysOfEntries(archive));
            int finishedBefore = FinishedCount();

            newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
            await _fixture.TickUntilAsync(() => FinishedCount() > finishedBefore, "the re-encryption after the rotation");

            Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Payloads);
            Assert.Equal([newKey, newKey, newKey], KeysOfEntries(archive));
            Assert.False(ArchiveTarHolds(archive, Description) || ArchiveTarHolds(archive, LogLine) || ArchiveTarHolds(archive, ReportText), "the archive holds content in the clear");
            Assert.Equal(0L, RemainingInHealth(service));

            // Nothing is under the old key any more, the archive included: removing the key is allowed now.
            EncryptionKeyOperations.Remove(KeyFile, oldKey, _fixture.StatePath);
        }

        // Under the new key alone the archive restores whole.
        await using (StatePersistenceService reopened = await OpenAsync(encrypted: true))
        {
            await AssertRestoresAsync(reopened, archive);
        }
    }

    [Fact]
    public async Task DisablingEncryption_RewritesAnArchiveInTheClear_SoItRestoresWithoutAnyKey()
    {
        string key = EncryptionKeyFile.Create(KeyFile).Active.Id;
        string archive;
        await using (StatePersistenceService service = await OpenAsync(encrypted: true))
        {
            archive = await ArchiveOneTaskAsync(service);
            int finishedBefore = FinishedCount();

            EncryptionKeyOperations.Disable(KeyFile);
            await _fixture.TickUntilAsync(() => FinishedCount() > finishedBefore, "the re-encryption to the clear");

            Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads);
            Assert.False(ReadArchive(archive).Manifest.Sealed);
            Assert.True(ArchiveTarHolds(archive, Description), "the archive was not rewritten in the clear");
        }

        File.Delete(KeyFile);
        await using StatePersistenceService clear = await OpenAsync(encrypted: false);
        await AssertRestoresAsync(clear, archive);
    }

    [Fact]
    public async Task ADamagedArchive_IsLeftAsItIs_ReportedOnceAndCounted_WhileTheOtherArchiveIsSealedAgain()
    {
        EncryptionKeyFile.Create(KeyFile);
        using var damagedCount = new MetricCollector<long>(_metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), StateMeter.Name,
            "statepersistence.reencryption.files.damaged");
        await using StatePersistenceService service = await OpenAsync(encrypted: true);
        string archive = await ArchiveOneTaskAsync(service);
        byte[] whole = File.ReadAllBytes(archive);
        string damaged = Path.Combine(Path.GetDirectoryName(archive)!, "tasks.damaged.tar.gz");
        byte[] truncated = whole[..(whole.Length / 2)];
        File.WriteAllBytes(damaged, truncated);

        string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
        // The good archive under the new key too: a step before the server read the rotated key file already finds the
        // damage and leaves 1 remaining (everything else is under the key it still takes as active), and five more
        // ticks did not always see the re-encryption through under load (a clean-clone run with a busy core).
        await _fixture.TickUntilAsync(() => DamageReports(damaged) == 1 && RemainingInHealth(service) == 1 && KeysOfEntries(archive).All(k => k == newKey),
            "the damaged archive reported, everything else re-encrypted");

        // More steps: the damaged archive stays counted, is not reported again, and is never touched.
        for (int i = 0; i < 5; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50, Ct);
        }

        Assert.Equal(truncated, File.ReadAllBytes(damaged));
        Assert.Equal(1, DamageReports(damaged));
        Assert.Equal(1L, RemainingInHealth(service));
        Assert.Equal(1L, damagedCount.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal([newKey, newKey, newKey], KeysOfEntries(archive));
        Assert.Equal(0, FinishedCount());
        Assert.Equal(2, Directory.GetFiles(Path.GetDirectoryName(archive)!).Length);
    }

    /// <summary>
    /// A damaged archive sealed under the old key, which the re-encryption leaves as it is. It counted as in the clear,
    /// under no key, and the old key was removed: cut short, the entries before the cut still decrypt with it (they
    /// count under it, so it cannot be removed); with a flipped byte nothing decompresses, so its key cannot be read
    /// and removing any key needs the operator's --lose-moved-aside, as a file moved aside does.
    /// </summary>
    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    public async Task ADamagedArchive_KeepsTheKeyItMayNeed_AndIsListedDamaged(string damage)
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync(encrypted: true);
        string archive = await ArchiveOneTaskAsync(service);
        byte[] bytes = File.ReadAllBytes(archive);
        string damaged = Path.Combine(Path.GetDirectoryName(archive)!, "tasks.damaged.tar.gz");
        if (damage == "flipped")
        {
            bytes[^40] ^= 0x20;
        }

        File.WriteAllBytes(damaged, damage == "flipped" ? bytes : bytes[..(bytes.Length * 3 / 4)]);
        string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
        // The flipped case's refusal must come from the damaged archive, not from files the re-encryption has yet to
        // rewrite: the good archive under the new key does not show every other file is (a clean-clone run on
        // 2026-12-07 was refused for "still seals 3 payloads" there), so it also waits for no live payload under the
        // old key. The truncated archive's entries before the cut stay under it.
        await _fixture.TickUntilAsync(() => DamageReports(damaged) == 1 && KeysOfEntries(archive).All(k => k == newKey)
            && (damage != "flipped" || EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Payloads == 0), "everything but the damaged archive re-encrypted");

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);
        Assert.Contains(damaged, usage.DamagedFiles);
        Assert.Equal(0, usage.ClearFiles);
        var refused = Assert.Throws<StatePersistence.Errors.StatePersistenceException>(() => EncryptionKeyOperations.Remove(KeyFile, oldKey, _fixture.StatePath));
        if (damage == "truncated")
        {
            Assert.True(usage.For(oldKey).Payloads > 0, "the entries before the cut count under the old key");
            Assert.Contains($"The key '{oldKey}' still seals", refused.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"'{damaged}'", refused.Message, StringComparison.Ordinal);
            Assert.Contains("--lose-moved-aside", refused.Message, StringComparison.Ordinal);
        }

        Assert.Contains(EncryptionKeyFile.Read(KeyFile).Keys, k => k.Id == oldKey);
    }

    private async Task<StatePersistenceService> OpenAsync(bool encrypted)
    {
        var loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));
        StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = encrypted ? KeyFile : null;
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
        }), loggers, _fixture.Time, _metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        await service.StartAsync(Ct);
        return service;
    }

    /// <summary>Archives a failed task with its session's log and its report; returns the archive's path.</summary>
    private async Task<string> ArchiveOneTaskAsync(StatePersistenceService service)
    {
        await service.SaveTaskAsync(new AgentTask { Id = "old", Description = Description, Status = TaskStatuses.Failed, UpdatedAt = Now.AddDays(-10) }, Ct);
        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "done", TaskId = "old" }, Ct));
        await service.AppendSessionLogAsync("s1", LogLine, Ct);
        await service.SaveReportAsync("old", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = ReportText }), Ct);
        await service.SaveTaskAsync(StateFixture.Task("live"), Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now, withLogs: true, cancellationToken: Ct);
        Assert.Equal(["old"], archived.Tasks);
        return archived.Archive!;
    }

    private static async Task AssertRestoresAsync(StatePersistenceService service, string archive)
    {
        TaskRestoreResult restored = await TaskArchives.RestoreAsync(service, archive, Ct);
        Assert.Equal(["old"], restored.Tasks);
        Assert.Equal(Description, (await service.LoadTaskAsync("old", Ct))!.Description);
        Assert.Equal(LogLine, await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(ReportText, (await service.LoadReportAsync("old", Ct))!.Value.GetProperty("summary").GetString());
    }

    private static (TaskArchiveManifest Manifest, Dictionary<string, byte[]> Entries) ReadArchive(string archive) =>
        TaskArchiveFile.Read(File.ReadAllBytes(archive), archive);

    /// <summary>The key id each entry's envelope header names (the task, the log, the report), "clear" for none.</summary>
    private static List<string> KeysOfEntries(string archive)
    {
        (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = ReadArchive(archive);
        Assert.True(manifest.Sealed);
        return [.. manifest.Entries.Select(e => EnvelopeFormat.ReadHeader(entries[e.Name], out _, out _, out string? keyId) > 0 ? keyId ?? "clear" : "no envelope")];
    }

    /// <summary>Whether the archive's tar (the gzip undone) holds <paramref name="text"/>.</summary>
    private static bool ArchiveTarHolds(string archive, string text)
    {
        using var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
        using var tar = new MemoryStream();
        gzip.CopyTo(tar);
        return tar.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
    }

    private IEnumerable<string> Messages => _logs.Collector.GetSnapshot().Select(r => r.Message);

    private int FinishedCount() => Messages.Count(m => m.StartsWith("Re-encryption of", StringComparison.Ordinal) && m.Contains(" finished: ", StringComparison.Ordinal));

    private int DamageReports(string path) =>
        _logs.Collector.GetSnapshot().Count(r => r.Level == LogLevel.Error && r.Message.Contains(path + " is damaged and was left as it is", StringComparison.Ordinal));

    private static long RemainingInHealth(StatePersistenceService service) =>
        service.CheckHealth().StoreDetails.GetValueOrDefault("reencryption_files_remaining", -1);
}
