using System.Text;
using System.Text.Json;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The file store with encryption on through the options (a real key file, the real AES-GCM codec): nothing readable
/// under the state directory, a full recovery and a rebuild read everything back, tampered files are quarantined, and
/// a payload under a key the ring lacks or has revoked stops the start without changing a byte.
/// </summary>
public sealed class EncryptedStoreTests : IDisposable
{
    private const string Description = "MARMOT-task-description-91c4";
    private const string LogLine = "MARMOT-task-log-line-22ab";
    private const string SessionLine = "MARMOT-session-log-line-5d0e";
    private const string ReportText = "MARMOT-report-content-ee17";
    private readonly StateFixture _fixture = new();

    public EncryptedStoreTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        EncryptionKeyFile.Create(KeyFile);
    }

    private string KeyFile { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    private StatePersistenceService Create(Action<StatePersistenceOptions>? configure = null) =>
        FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = KeyFile;
            o.ScrubInterval = TimeSpan.Zero;
            configure?.Invoke(o);
        }), timeProvider: _fixture.Time);

    private async Task<StatePersistenceService> OpenAsync(Action<StatePersistenceOptions>? configure = null)
    {
        StatePersistenceService service = Create(configure);
        await service.StartAsync(Ct);
        return service;
    }

    /// <summary>Every kind of file: tasks with a log, a session and its log, a report, snapshots and a backup, then journal-only changes; then a crash.</summary>
    private async Task PopulateAsync()
    {
        StatePersistenceService service = await OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1", description: $"one {Description}"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("t2", description: $"two {Description}"), Ct);
        await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "system", Message = LogLine }, Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", SessionLine + "\n", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = ReportText }), Ct);
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t3", description: $"three {Description}"), Ct);
        await StateFixture.CrashAsync(service);
    }

    private async Task AssertEverythingIsBackAsync(StatePersistenceService service)
    {
        AgentTask t1 = (await service.LoadTaskAsync("t1", Ct))!;
        Assert.Equal($"one {Description}", t1.Description);
        Assert.Equal(LogLine, Assert.Single(t1.Logs!).Message);
        Assert.Equal($"two {Description}", (await service.LoadTaskAsync("t2", Ct))!.Description);
        Assert.Equal($"three {Description}", (await service.LoadTaskAsync("t3", Ct))!.Description);
        Assert.Equal(SessionLine + "\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(ReportText, (await service.LoadReportAsync("r1", Ct))!.Value.GetProperty("summary").GetString());
    }

    private void AssertNothingInTheClear(string when)
    {
        string[] files = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories);
        foreach (string expected in (string[])["journal", "tasks", "sessions", "logs", "reports"])
        {
            Assert.Contains(files, f => f.Contains(Path.DirectorySeparatorChar + expected + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        }

        Assert.Contains(files, f => Path.GetFileName(f).StartsWith("state.backup.", StringComparison.Ordinal));
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            foreach (string text in (string[])[Description, LogLine, SessionLine, ReportText, "MARMOT"])
            {
                Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0, $"{when}: '{file}' holds '{text}' in the clear");
            }
        }
    }

    private Dictionary<string, byte[]> Bytes() =>
        Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);

    private static void AssertUnchanged(Dictionary<string, byte[]> before, Dictionary<string, byte[]> after)
    {
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, entry => Assert.True(entry.Value.AsSpan().SequenceEqual(after[entry.Key]), $"'{entry.Key}' changed"));
    }

    [Fact]
    public async Task AStoreBuiltByHandFromTheOptions_EncryptsAsTheOptionsSay_LikeCreate()
    {
        // The README's way to attach handlers before recovery: the service over a FileStateStore built from the options.
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Encryption.KeyFile = KeyFile;
            o.ScrubInterval = TimeSpan.Zero;
        });
        await using (var service = new StatePersistenceService(options, new FileStateStore(options), timeProvider: _fixture.Time))
        {
            await service.StartAsync(Ct);
            await service.SaveTaskAsync(StateFixture.Task("t1", description: $"one {Description}"), Ct);
            await service.AppendSessionLogAsync("s1", SessionLine + "\n", Ct);
            await service.SaveSnapshotAsync(Ct);
        }

        foreach (string file in Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories))
        {
            byte[] bytes = await File.ReadAllBytesAsync(file, Ct);
            Assert.False(bytes.AsSpan().IndexOf("MARMOT"u8) >= 0, $"'{file}' holds 'MARMOT' in the clear");
        }

        // The explicit migration runs read through the options' codec too: without it state.json would not be readable.
        var status = StatePersistence.FileStore.Migrations.StateMigrations.GetStatus(_fixture.Options(o => o.Encryption.KeyFile = KeyFile));
        Assert.Equal(StateFormat.CurrentVersion, status.DirectoryVersion);
        await using StatePersistenceService reopened = await OpenAsync();
        Assert.Equal($"one {Description}", (await reopened.LoadTaskAsync("t1", Ct))!.Description);
    }

    [Fact]
    public async Task EncryptionOn_NoDescriptionLogLineOrReportIsInTheClearInAnyFile_AndRecoveryAndRebuildReadEverythingBack()
    {
        await PopulateAsync();
        AssertNothingInTheClear("after the crash");

        await using (StatePersistenceService service = await OpenAsync())
        {
            Assert.Empty(service.LastRecovery!.Quarantined);
            Assert.Empty(service.LastRecovery.Lost);
            await AssertEverythingIsBackAsync(service);
            await StateFixture.CrashAsync(service);
        }

        File.Delete(_fixture.File("state.json"));
        await using (StatePersistenceService service = await OpenAsync())
        {
            Assert.True(service.LastRecovery!.RebuiltFromItemFiles);
            Assert.Empty(service.LastRecovery.Quarantined);
            await AssertEverythingIsBackAsync(service);
        }

        AssertNothingInTheClear("after the rebuild and a clean shutdown");
    }

    // Each fails the envelope's checksum, as damage at rest does. A file altered with its checksum recomputed cannot be
    // told from one read with the wrong key material: it is refused, not quarantined (WrongKeyMaterialTests).
    public static TheoryData<string> Tamperings => ["bit-flip", "truncated", "swapped", "tag-flip"];

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task TamperedTaskFile_IsQuarantinedLikeCorruption_AndNeverServed(string tampering)
    {
        await PopulateAsync();
        string t1 = _fixture.File("tasks", "t1.json");
        byte[] bytes = File.ReadAllBytes(t1);
        switch (tampering)
        {
            case "bit-flip":
                bytes[bytes.Length / 2] ^= 0x10;
                break;
            case "truncated":
                bytes = bytes[..^7];
                break;
            case "swapped":
                bytes = File.ReadAllBytes(_fixture.File("tasks", "t2.json"));
                break;
            case "tag-flip":
                // Past the header, into the GCM tag.
                bytes[8 + bytes[6] + bytes[7] + AesGcmCodec.NonceSize + 3] ^= 0x01;
                break;
        }

        File.WriteAllBytes(t1, bytes);
        File.Delete(_fixture.File("state.json"));

        await using StatePersistenceService service = await OpenAsync();
        RecoveryReport report = service.LastRecovery!;
        Assert.Contains(report.Quarantined, q => q.OriginalPath == t1);
        Assert.NotEqual($"two {Description}", (await service.LoadTaskAsync("t1", Ct))?.Description);
        Assert.Equal($"two {Description}", (await service.LoadTaskAsync("t2", Ct))!.Description);
    }

    [Fact]
    public async Task TamperedReport_IsQuarantinedWhenRead_AndNotServed()
    {
        await PopulateAsync();
        string report = _fixture.File("reports", "report_r1.json");
        byte[] bytes = File.ReadAllBytes(report);
        bytes[^10] ^= 0x01;
        File.WriteAllBytes(report, bytes);

        await using StatePersistenceService service = await OpenAsync();
        var error = await Assert.ThrowsAsync<StateStorageException>(async () => await service.LoadReportAsync("r1", Ct));
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(report));
    }

    [Fact]
    public async Task MissingKey_StopsTheStart_NamingTheKeyIdAndTheFile_AndChangesNothing()
    {
        await PopulateAsync();
        string keyId = EncryptionKeyFile.Read(KeyFile).Active.Id;
        Dictionary<string, byte[]> before = Bytes();
        string otherKeyFile = Path.Combine(Path.GetDirectoryName(KeyFile)!, "other-keys.json");
        EncryptionKeyFile.Create(otherKeyFile);

        StatePersistenceService service = Create(o => o.Encryption.KeyFile = otherKeyFile);
        var error = await Assert.ThrowsAsync<StateFormatException>(() => service.StartAsync(Ct));
        await service.DisposeAsync();

        Assert.Contains($"'{keyId}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not hold", error.Message, StringComparison.Ordinal);
        Assert.StartsWith(_fixture.StatePath, error.Path, StringComparison.Ordinal);
        Assert.Contains(error.Path!, error.Message, StringComparison.Ordinal);
        AssertUnchanged(before, Bytes());
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));

        // With the key back, everything is there.
        await using StatePersistenceService again = await OpenAsync();
        await AssertEverythingIsBackAsync(again);
    }

    [Fact]
    public async Task RevokedKey_IsRefusedLikeAMissingOne_NotQuarantined()
    {
        await PopulateAsync();
        EncryptionKeyRing ring = EncryptionKeyFile.Read(KeyFile);
        string old = ring.Active.Id;
        EncryptionKeyFile.Write(KeyFile, ring.WithActive(EncryptionKey.Generate("k-next", EncryptionKeyState.Active, _fixture.Time.GetUtcNow()))
            .WithState(old, EncryptionKeyState.Revoked));
        Dictionary<string, byte[]> before = Bytes();

        StatePersistenceService service = Create();
        var error = await Assert.ThrowsAsync<StateFormatException>(() => service.StartAsync(Ct));
        await service.DisposeAsync();

        Assert.Contains($"'{old}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("revoked", error.Message, StringComparison.Ordinal);
        // The key is in the ring: what brings it back is un-revoking it, not adding it (as the message said before).
        Assert.Contains($"statectl keys retire {old}", error.Message, StringComparison.Ordinal);
        AssertUnchanged(before, Bytes());
    }

    [Fact]
    public async Task RotatedKeyFile_IsUsedForNewWritesWhileRunning_AndTheRetiredKeyStillOpensOlderPayloads()
    {
        await PopulateAsync();
        var keys = new KeyFileProvider(KeyFile, _fixture.StatePath, _fixture.Time);
        string old = keys.GetKeyRing().Active.Id;
        await using (StatePersistenceService service = await OpenAsync(o => o.Encryption.KeyProvider = keys))
        {
            EncryptionKeyFile.Write(KeyFile, keys.GetKeyRing().WithActive(EncryptionKey.Generate("key-rotated", EncryptionKeyState.Active, _fixture.Time.GetUtcNow())));
            _fixture.Time.Advance(KeyFileProvider.RecheckInterval);
            await service.SaveTaskAsync(StateFixture.Task("t4", description: $"four {Description}"), Ct);
            await service.SaveSnapshotAsync(Ct);

            Assert.Equal("key-rotated", keys.GetKeyRing().Active.Id);
            byte[] t4 = File.ReadAllBytes(_fixture.File("tasks", "t4.json"));
            Assert.True(t4.AsSpan().IndexOf("key-rotated"u8) >= 0, "the new task file is not sealed with the new key");
            Assert.False(t4.AsSpan().IndexOf(Encoding.ASCII.GetBytes(old)) >= 0);
            await AssertEverythingIsBackAsync(service);
        }

        await using StatePersistenceService reopened = await OpenAsync();
        Assert.Empty(reopened.LastRecovery!.Quarantined);
        await AssertEverythingIsBackAsync(reopened);
        Assert.Equal($"four {Description}", (await reopened.LoadTaskAsync("t4", Ct))!.Description);
    }

    [Fact]
    public async Task KeyUsage_LeavesOutTempFiles_AWriteInFlightIsNotAStoredPayload()
    {
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1", description: $"one {Description}"), Ct);
            await service.SaveSnapshotAsync(Ct);
        }

        string keyId = EncryptionKeyFile.Read(KeyFile).Active.Id;
        string task = _fixture.File("tasks", "t1.json");
        KeyUsageCount before = EncryptionKeyUsage.Measure(_fixture.StatePath).For(keyId);

        // What a checkpoint's write of the task looks like between its create and its rename (a listing beside a
        // running server can see it, and then the file is gone before it is read).
        File.Copy(task, task + ".7" + StateLayout.TempSuffix);

        Assert.True(before.Files >= 2, $"the task file and state.json are sealed with {keyId}");
        Assert.Equal(before, EncryptionKeyUsage.Measure(_fixture.StatePath).For(keyId));
    }

    [Fact]
    public async Task EncryptionTurnedOnForAClearTextDirectory_ReadsEverything_AndSealsWhatItWritesFromThenOn()
    {
        StatePersistenceService clear = FileStatePersistence.Create(_fixture.Options(o => o.ScrubInterval = TimeSpan.Zero), timeProvider: _fixture.Time);
        await clear.StartAsync(Ct);
        await clear.SaveTaskAsync(StateFixture.Task("t1", description: $"one {Description}"), Ct);
        await clear.SaveSnapshotAsync(Ct);
        await clear.DisposeAsync();
        Assert.Empty(EncryptionKeyUsage.Measure(_fixture.StatePath).ByKey);
        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).ClearFiles > 0);

        await using (StatePersistenceService service = await OpenAsync())
        {
            Assert.Equal($"one {Description}", (await service.LoadTaskAsync("t1", Ct))!.Description);
            await service.SaveTaskAsync(StateFixture.Task("t2", description: $"two {Description}"), Ct);
            await service.UpdateTaskAsync("t1", t => t.Status = TaskStatuses.InProgress, Ct);
            await service.SaveSnapshotAsync(Ct);
        }

        string keyId = EncryptionKeyFile.Read(KeyFile).Active.Id;
        foreach (string file in (string[])[_fixture.File("state.json"), _fixture.File("tasks", "t1.json"), _fixture.File("tasks", "t2.json")])
        {
            Assert.False(File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.UTF8.GetBytes(Description)) >= 0, $"'{file}' is still in the clear");
        }

        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(keyId).Files >= 3);
        await using StatePersistenceService reopened = await OpenAsync();
        Assert.Equal(TaskStatuses.InProgress, (await reopened.LoadTaskAsync("t1", Ct))!.Status);
        Assert.Equal($"two {Description}", (await reopened.LoadTaskAsync("t2", Ct))!.Description);
    }
}
