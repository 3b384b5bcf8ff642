using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A session log under the old key holding damage a read repairs (an append failing its checksum between valid ones, a
/// rotated part's broken end). The re-encryption left such a log as it was, "for start-up's repair", but start-up
/// repairs neither: the log stayed under the old key on every step, the run never finished (its health figure stayed
/// above 0, and the old key could not be removed), and nothing named the log. It is now repaired the way a read repairs
/// it (copied aside as it was, reported, its valid appends kept), then sealed again under the new key. A report or
/// backup that does not open had the same hole; it is now moved aside and reported, as a read of a report does.
/// </summary>
public sealed class ReencryptionOfDamagedFilesTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string KeyFile => _fixture.KeyFilePath;

    private string Log => _fixture.File("logs", "session_s1.log");

    private string Part => _fixture.File("logs", "session_s1.log.1");

    [Fact]
    public async Task DamageBetweenAppendsOfTheLiveLog_IsRepaired_ThenTheLogSealedUnderTheNewKey_AndTheRunFinishes()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync();
        await AppendAsync(service, "a\n", "b\n", "c\n");
        byte[] damaged = await DamageAsync(Log, frame: 1);

        await RotateAndReencryptAsync(service);

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);
        Assert.Equal(0, usage.For(oldKey).Files);
        Assert.Equal(CopiesAside(), usage.MovedAsideFor(oldKey)); // the evidence, kept as it was
        Assert.Equal(damaged, await File.ReadAllBytesAsync(Assert.Single(CopiesAside()), Ct));
        Assert.True(service.CheckHealth().CorruptionDetected);
        Assert.Equal("a\nc\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task TheLiveLogCutShortWhileRunning_IsRepaired_ThenSealedUnderTheNewKey_AndTheRunFinishes()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync();
        await AppendAsync(service, "a\n", "b\n", "c\n");
        byte[] damaged = await CutShortAsync(Log);

        await RotateAndReencryptAsync(service);

        Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
        Assert.Equal(damaged, await File.ReadAllBytesAsync(Assert.Single(CopiesAside()), Ct));
        Assert.Equal("a\nb\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ADamagedRotatedPart_IsRepaired_ThenSealedUnderTheNewKey_AndTheRunFinishes(bool brokenEnd)
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using (StatePersistenceService first = await OpenAsync())
        {
            await AppendAsync(first, "a\n", "b\n", "c\n");
        }

        File.Move(Log, Part);
        await using StatePersistenceService service = await OpenAsync();
        await AppendAsync(service, "d\n");
        byte[] damaged = brokenEnd ? await CutShortAsync(Part) : await DamageAsync(Part, frame: 1);

        await RotateAndReencryptAsync(service);

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);
        Assert.Equal(0, usage.For(oldKey).Files);
        Assert.Equal(CopiesAside(), usage.MovedAsideFor(oldKey)); // the evidence, kept as it was
        Assert.Equal(damaged, await File.ReadAllBytesAsync(Assert.Single(CopiesAside()), Ct));
        Assert.Equal(brokenEnd ? "a\nb\nd\n" : "a\nc\nd\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task ADamagedReportAndBackup_UnderTheOldKey_AreMovedAsideAndReported_AndTheRunFinishes()
    {
        // The same hole for a report or backup that does not open: left under the old key on every step, naming nothing.
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        var found = new List<string>();
        await using StatePersistenceService service = await OpenAsync();
        service.Store.DamageFound += (_, file) => found.Add(file.OriginalPath);
        await service.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "kept" }), Ct);
        await service.SaveReportAsync("r2", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "damaged" }), Ct);
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        string report = _fixture.File("reports", "report_r2.json");
        string backup = Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));
        byte[] damagedReport = await FlipAsync(report);
        byte[] damagedBackup = await FlipAsync(backup);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1)); // the checkpoint the run forces makes a backup of its own name

        await RotateAndReencryptAsync(service);

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);
        Assert.Equal(0, usage.For(oldKey).Files);
        Assert.Equal(new[] { backup, report }.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        Assert.False(File.Exists(report));
        Assert.False(File.Exists(backup));
        Assert.Equal(damagedReport, await File.ReadAllBytesAsync(Assert.Single(Directory.GetFiles(_fixture.File("reports"), "*" + StateLayout.CorruptMarker + "*")), Ct));
        Assert.Equal(damagedBackup, await File.ReadAllBytesAsync(Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*" + StateLayout.CorruptMarker + "*")), Ct));
        Assert.Equal(["r1"], await service.ListReportsAsync(Ct));
        Assert.Equal("kept", (await service.LoadReportAsync("r1", Ct))!.Value.GetProperty("summary").GetString());
    }

    /// <summary>Flips a byte in the middle of a sealed file (its envelope's checksum fails); returns the file as it now is.</summary>
    private static async Task<byte[]> FlipAsync(string path)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, Ct);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes, Ct);
        return bytes;
    }

    /// <summary>
    /// Rotates the key and runs the re-encryption to its end; a run that never finishes (the log left under the old key
    /// on every step) fails the test after 30 seconds rather than hanging it.
    /// </summary>
    private async Task RotateAndReencryptAsync(StatePersistenceService service)
    {
        EncryptionKeyOperations.Rotate(KeyFile);
        StateFixture.ReloadKeyFile(service);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        await service.ReencryptToEndAsync(bounded.Token);
        Assert.Equal(0L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
    }

    private string[] CopiesAside() => Directory.GetFiles(_fixture.File("logs"), "*" + StateLayout.CorruptMarker + "*");

    /// <summary>Flips a byte in the stored text of append <paramref name="frame"/> (counted from 0): its checksum fails.</summary>
    private static async Task<byte[]> DamageAsync(string path, int frame)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, Ct);
        bytes[DamagedLogAppends.Frames(bytes)[frame].Offset + SessionLogFormat.FrameHeaderSize + 4] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes, Ct);
        return bytes;
    }

    private static async Task<byte[]> CutShortAsync(string path)
    {
        byte[] bytes = (await File.ReadAllBytesAsync(path, Ct))[..^3];
        await File.WriteAllBytesAsync(path, bytes, Ct);
        return bytes;
    }

    private static async Task AppendAsync(StatePersistenceService service, params string[] appends)
    {
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        foreach (string append in appends)
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }
    }

    private Task<StatePersistenceService> OpenAsync() => _fixture.OpenWithCodecAsync(PhysicalFileSystem.Instance, o =>
    {
        o.Encryption.KeyFile = KeyFile;
        o.ScrubInterval = TimeSpan.Zero;
        o.AutosaveInterval = TimeSpan.Zero;
        o.ReencryptionInterval = TimeSpan.Zero;
    });
}
