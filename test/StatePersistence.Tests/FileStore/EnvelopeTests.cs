using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Every stored byte goes through the payload envelope and the configured codec: with an encrypting codec nothing is
/// stored in the clear and everything comes back; a flipped bit in any kind of file is detected; an envelope of an
/// unknown version or codec is refused, naming both.
/// </summary>
public sealed class EnvelopeTests : IDisposable
{
    private const string Marker = "ZEBRA-7f3a-PLAINTEXT";
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private StatePersistenceService Create(IPayloadCodec? codec)
    {
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.PayloadCodec = codec;
            o.ScrubInterval = TimeSpan.Zero;
        });
        return FileStatePersistence.Create(options, timeProvider: _fixture.Time);
    }

    private async Task<StatePersistenceService> OpenAsync(IPayloadCodec? codec)
    {
        StatePersistenceService service = Create(codec);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>
    /// Writes every kind of file: tasks, a session, a session log, a report, two snapshots (so a backup exists), then
    /// changes only the journal holds, and crashes (no final snapshot).
    /// </summary>
    private async Task PopulateAsync(IPayloadCodec? codec)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await OpenAsync(codec);
        await service.SaveTaskAsync(StateFixture.Task("t1", description: $"first {Marker}"), ct);
        await service.SaveTaskAsync(StateFixture.Task("t2", description: $"second {Marker}"), ct);
        await service.AppendTaskLogAsync("t1", new TaskLogEntry { Level = "info", Type = "system", Message = $"log {Marker}" }, ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = $"active-{Marker}" }, ct);
        await service.AppendSessionLogAsync("s1", $"line one {Marker}\n", ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = Marker }), ct);
        await service.SaveSnapshotAsync(ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.UpdateTaskAsync("t1", t => t.Description = $"first, updated {Marker}", ct);
        await service.SaveSnapshotAsync(ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.UpdateTaskAsync("t2", t => t.Description = $"second, updated {Marker}", ct);
        await service.SaveTaskAsync(StateFixture.Task("t3", description: $"third {Marker}"), ct);
        await service.AppendSessionLogAsync("s1", $"line two {Marker}\n", ct);
        await StateFixture.CrashAsync(service);
    }

    private async Task AssertEverythingIsBackAsync(StatePersistenceService service)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Assert.Equal($"first, updated {Marker}", (await service.LoadTaskAsync("t1", ct))!.Description);
        Assert.Equal($"log {Marker}", Assert.Single((await service.LoadTaskAsync("t1", ct))!.Logs!).Message);
        Assert.Equal($"second, updated {Marker}", (await service.LoadTaskAsync("t2", ct))!.Description);
        Assert.Equal($"third {Marker}", (await service.LoadTaskAsync("t3", ct))!.Description);
        Assert.Equal($"active-{Marker}", (await service.LoadSessionAsync("s1", ct))!.Status);
        Assert.Equal($"line one {Marker}\nline two {Marker}\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.Equal(Marker, (await service.LoadReportAsync("r1", ct))!.Value.GetProperty("summary").GetString());
    }

    [Fact]
    public async Task EncryptingCodec_LeavesNoPlainTextInAnyFile_AndAFullRecoveryReadsEverythingBack()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new AesGcmTestCodec();
        await PopulateAsync(codec);

        string[] files = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories);
        foreach (string pattern in (string[])["journal/*.wal", "tasks/t1.json", "sessions/s1.json", "state.json", "state.backup.*.json", "logs/session_s1.log", "reports/report_r1.json"])
        {
            Assert.True(Directory.GetFiles(_fixture.StatePath, pattern).Length > 0 || Directory.GetFiles(Path.Combine(_fixture.StatePath, Path.GetDirectoryName(pattern)!), Path.GetFileName(pattern)).Length > 0, $"no file {pattern}");
        }

        byte[] marker = Encoding.UTF8.GetBytes(Marker);
        foreach (string file in files)
        {
            Assert.False((await File.ReadAllBytesAsync(file, ct)).AsSpan().IndexOf(marker) >= 0, $"'{file}' holds the marker in the clear");
        }

        // Full recovery: state.json plus the journal.
        await using (StatePersistenceService service = await OpenAsync(codec))
        {
            Assert.Empty(service.LastRecovery!.Quarantined);
            Assert.Empty(service.LastRecovery.Lost);
            await AssertEverythingIsBackAsync(service);
            await StateFixture.CrashAsync(service);
        }

        // A rebuild from the item files and the newest backup, state.json gone.
        File.Delete(_fixture.File("state.json"));
        await using (StatePersistenceService service = await OpenAsync(codec))
        {
            Assert.True(service.LastRecovery!.RebuiltFromItemFiles);
            Assert.Empty(service.LastRecovery.Quarantined);
            Assert.Empty(service.LastRecovery.Lost);
            await AssertEverythingIsBackAsync(service);
        }

        foreach (string file in Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories))
        {
            Assert.False((await File.ReadAllBytesAsync(file, ct)).AsSpan().IndexOf(marker) >= 0, $"'{file}' holds the marker in the clear after the restarts");
        }
    }

    [Fact]
    public async Task EncryptingCodec_AfterAKeyRotation_ReadsPayloadsOfTheOldKey()
    {
        var codec = new AesGcmTestCodec("k1");
        await PopulateAsync(codec);
        codec.AddKey("k2");
        codec.KeyId = "k2";

        await using StatePersistenceService service = await OpenAsync(codec);
        await service.SaveTaskAsync(StateFixture.Task("t4"), TestContext.Current.CancellationToken);
        await AssertEverythingIsBackAsync(service);
    }

    [Fact]
    public async Task DirectoryWrittenWithAnotherCodec_IsRefusedAtStart_NamingBothCodecs_AndNothingChanges()
    {
        await PopulateAsync(new AesGcmTestCodec());
        Dictionary<string, byte[]> before = Snapshot();

        StatePersistenceService service = Create(null);
        var error = await Assert.ThrowsAsync<StateFormatException>(() => service.StartAsync(TestContext.Current.CancellationToken));
        await service.DisposeAsync();

        Assert.Contains("'test-aes-gcm'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'identity'", error.Message, StringComparison.Ordinal);
        Dictionary<string, byte[]> after = Snapshot();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, entry => Assert.Equal(entry.Value, after[entry.Key]));
    }

    [Fact]
    public async Task EncryptingCodec_SessionLogCopiedOverAnotherSessions_IsNotServed_AndIsReported()
    {
        // Every frame is intact and none opens for this session: that cannot be told from the wrong key material, so
        // the read is refused and the log left as it is (a frame of another session among frames that open is damage).
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new AesGcmTestCodec();
        var quarantined = new List<QuarantinedFile>();
        StatePersistenceService service = Create(codec);
        service.CorruptionDetected += (_, e) => quarantined.Add(e.File);
        await service.StartAsync(ct);
        await using (service)
        {
            await service.AppendSessionLogAsync("s1", "one\n", ct);
            await service.AppendSessionLogAsync("s2", "two\n", ct);
            File.Copy(_fixture.File("logs", "session_s2.log"), _fixture.File("logs", "session_s1.log"), overwrite: true);
            byte[] copied = File.ReadAllBytes(_fixture.File("logs", "session_s1.log"));

            var refused = await Assert.ThrowsAsync<StateFormatException>(async () => await service.ReadSessionLogAsync("s1", ct));
            Assert.Equal(_fixture.File("logs", "session_s1.log"), refused.Path);
            Assert.Equal("two\n", await service.ReadSessionLogAsync("s2", ct));
            Assert.Empty(quarantined);
            Assert.Equal(copied, File.ReadAllBytes(_fixture.File("logs", "session_s1.log")));
            Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth().Status);
        }
    }

    [Fact]
    public async Task EncryptingCodec_AFrameOfAnotherSessionAmongFramesThatOpen_IsDamage_AndIsReported()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new AesGcmTestCodec();
        var quarantined = new List<QuarantinedFile>();
        StatePersistenceService service = Create(codec);
        service.CorruptionDetected += (_, e) => quarantined.Add(e.File);
        await service.StartAsync(ct);
        await using (service)
        {
            await service.AppendSessionLogAsync("s1", "one\n", ct);
            await service.AppendSessionLogAsync("s2", "two\n", ct);
            byte[] s1 = File.ReadAllBytes(_fixture.File("logs", "session_s1.log"));
            byte[] s2 = File.ReadAllBytes(_fixture.File("logs", "session_s2.log"));
            File.WriteAllBytes(_fixture.File("logs", "session_s1.log"), [.. s1, .. s2.AsSpan(SessionLogFormat.FileHeaderSize)]);

            Assert.Equal("one\n", await service.ReadSessionLogAsync("s1", ct));
            Assert.Contains(quarantined, q => q.OriginalPath == _fixture.File("logs", "session_s1.log"));
        }
    }

    private Dictionary<string, byte[]> Snapshot() =>
        Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);

    public static TheoryData<string, bool> Kinds()
    {
        var data = new TheoryData<string, bool>();
        foreach (string kind in (string[])["journal", "task", "session", "state", "backup", "log", "report"])
        {
            data.Add(kind, false);
            data.Add(kind, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task OneFlippedBit_InAnyKindOfFile_IsDetected_AndNeverServed(string kind, bool encrypted)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        IPayloadCodec? codec = encrypted ? new AesGcmTestCodec() : null;
        await PopulateAsync(codec);
        string root = _fixture.StatePath;
        string newestBackup = Directory.GetFiles(root, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        (string file, int offset) = kind switch
        {
            "journal" => (JournalSegmentWithRecords(), 32 + 20 + 20),
            "task" => (_fixture.File("tasks", "t1.json"), -1),
            "session" => (_fixture.File("sessions", "s1.json"), -1),
            "state" => (_fixture.File("state.json"), -1),
            "backup" => (newestBackup, -1),
            "log" => (_fixture.File("logs", "session_s1.log"), 8 + 12 + 3),
            "report" => (_fixture.File("reports", "report_r1.json"), -1),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        byte[] bytes = await File.ReadAllBytesAsync(file, ct);
        bytes[offset < 0 ? bytes.Length / 2 : offset] ^= 0x04;
        await File.WriteAllBytesAsync(file, bytes, ct);
        if (kind is "task" or "session" or "backup")
        {
            // Item files and backups are read when state.json cannot be used (the scrub reads item files too).
            File.Delete(_fixture.File("state.json"));
        }

        var quarantined = new List<QuarantinedFile>();
        StatePersistenceService service = Create(codec);
        service.CorruptionDetected += (_, e) => quarantined.Add(e.File);
        await service.StartAsync(ct);
        await using (service)
        {
            RecoveryReport report = service.LastRecovery!;
            string? log = await service.ReadSessionLogAsync("s1", ct);
            bool reportRefused = false;
            try
            {
                await service.LoadReportAsync("r1", ct);
            }
            catch (StateStorageException)
            {
                reportRefused = true;
            }

            bool detected = kind switch
            {
                "journal" => report.DroppedJournalBytes.Count > 0,
                "log" => quarantined.Exists(q => q.OriginalPath == file) || report.Quarantined.Exists(q => q.OriginalPath == file),
                "report" => reportRefused && !File.Exists(file),
                _ => report.Quarantined.Exists(q => q.OriginalPath == file),
            };
            Assert.True(detected, $"a flipped bit in '{file}' was not detected: {JsonSerializer.Serialize(report.Warnings)}");

            // Never served: everything loaded is a value that was written, whole.
            string?[] written = [$"first {Marker}", $"first, updated {Marker}", $"second {Marker}", $"second, updated {Marker}", $"third {Marker}"];
            foreach (AgentTask task in await service.LoadTasksAsync(ct))
            {
                Assert.Contains(task.Description, written);
            }

            Assert.All(await service.LoadSessionsAsync(ct), s => Assert.Equal($"active-{Marker}", s.Status));
            Assert.Contains(log, (string?[])[$"line one {Marker}\nline two {Marker}\n", $"line two {Marker}\n", $"line one {Marker}\n"]);
        }
    }

    private string JournalSegmentWithRecords() =>
        Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(f =>
        {
            byte[] bytes = File.ReadAllBytes(f);
            return bytes.Length > 40 && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32)) == 0x314A5053;
        });

    [Fact]
    public void BinaryEnvelope_OfAnUnknownVersion_IsRefused_NamingBothVersions()
    {
        var envelope = new PayloadEnvelope(new AesGcmTestCodec());
        byte[] sealedBytes = envelope.Seal(PayloadKind.Task, "t1", """{"id":"t1"}"""u8);
        sealedBytes[4] = 3; // a version 3 envelope, its checksum intact
        var context = new PayloadContext(PayloadKind.Task, "t1", null);
        BinaryPrimitives.WriteUInt32LittleEndian(sealedBytes.AsSpan(sealedBytes.Length - 4),
            EnvelopeFormat.Checksum(context.AssociatedData(), sealedBytes.AsSpan(0, sealedBytes.Length - 4)));

        var error = Assert.Throws<StateFormatException>(() => envelope.Open(PayloadKind.Task, "t1", sealedBytes, "tasks/t1.json"));

        Assert.Contains("envelope version 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("envelope version 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BinaryEnvelope_WithAFlippedVersionByte_IsDamage_NotAnUnknownVersion()
    {
        var envelope = new PayloadEnvelope(new AesGcmTestCodec());
        byte[] sealedBytes = envelope.Seal(PayloadKind.Task, "t1", """{"id":"t1"}"""u8);
        sealedBytes[4] ^= 0x02;

        Assert.Throws<InvalidDataException>(() => envelope.Open(PayloadKind.Task, "t1", sealedBytes, "tasks/t1.json"));
    }

    [Fact]
    public void PlainJsonEnvelope_OfAnUnknownVersion_IsRefused_NamingBothVersions()
    {
        byte[] json = """{"id":"t1","description":"d"}"""u8.ToArray();
        var context = new PayloadContext(PayloadKind.Task, "t1", null);
        byte[] prefix = Encoding.UTF8.GetBytes("""{"id":"t1","description":"d","$envelope":{"version":7,"codec":"identity","kind":"task","id":"t1" """.TrimEnd());
        uint crc = EnvelopeFormat.Checksum(context.AssociatedData(), prefix);
        byte[] file = [.. prefix, .. Encoding.UTF8.GetBytes($",\"checksum\":\"{EnvelopeChecksum.Format(crc)}\"}}}}")];

        var error = Assert.Throws<StateFormatException>(() => PayloadEnvelope.Identity.Open(PayloadKind.Task, "t1", file, "tasks/t1.json"));

        Assert.Contains("envelope version 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("envelope version 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(json, PayloadEnvelope.Identity.Open(PayloadKind.Task, "t1", PayloadEnvelope.Identity.Seal(PayloadKind.Task, "t1", json), "tasks/t1.json"));
    }

    [Fact]
    public void Envelope_OfAnUnknownCodec_IsRefused_NamingBothCodecs()
    {
        byte[] sealedBytes = new PayloadEnvelope(new AesGcmTestCodec("key-7")).Seal(PayloadKind.Report, "r1", """{"a":1}"""u8);

        var error = Assert.Throws<StateFormatException>(() => PayloadEnvelope.Identity.Open(PayloadKind.Report, "r1", sealedBytes, "reports/report_r1.json"));

        Assert.Contains("codec 'test-aes-gcm' (key 'key-7')", error.Message, StringComparison.Ordinal);
        Assert.Contains("codec 'identity'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Envelope_MovedToAnotherItem_FailsToOpen()
    {
        foreach (PayloadEnvelope envelope in (PayloadEnvelope[])[PayloadEnvelope.Identity, new PayloadEnvelope(new AesGcmTestCodec())])
        {
            byte[] sealedBytes = envelope.Seal(PayloadKind.Task, "t1", """{"id":"t1"}"""u8);
            Assert.Throws<InvalidDataException>(() => envelope.Open(PayloadKind.Task, "t2", sealedBytes, "tasks/t2.json"));
            Assert.Throws<InvalidDataException>(() => envelope.Open(PayloadKind.Session, "t1", sealedBytes, "sessions/t1.json"));
        }
    }

    [Fact]
    public void PlainJsonItemEnvelope_KeepsTheItemReadable_AndGivesBackItsExactBytes()
    {
        byte[] json = "{\n  \"id\": \"t1\",\n  \"description\": \"d\"\n}"u8.ToArray();

        byte[] stored = PayloadEnvelope.Identity.Seal(PayloadKind.Task, "t1", json);

        using JsonDocument document = JsonDocument.Parse(stored);
        Assert.Equal("d", document.RootElement.GetProperty("description").GetString());
        Assert.Equal("identity", document.RootElement.GetProperty("$envelope").GetProperty("codec").GetString());
        Assert.Equal(json, PayloadEnvelope.Identity.Open(PayloadKind.Task, "t1", stored, "tasks/t1.json"));
    }

    /// <summary>
    /// A directory holding only such a file is the Node implementation's (files, no journal): its migration writes every
    /// item file in this library's format (before 2026-12-06 the file was left as it was until the task next changed,
    /// and an indented one was moved aside as a hand edit at the next start: <c>NodeImportTests</c>).
    /// </summary>
    [Fact]
    public async Task TaskFileWithoutEnvelope_AsOlderVersionsWroteIt_IsLoaded_AndWrittenWithAnEnvelopeByTheMigration()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(_fixture.File("tasks"));
        await File.WriteAllTextAsync(_fixture.File("tasks", "legacy.json"), """
            {
              "id": "legacy",
              "description": "written by the original implementation",
              "status": "pending"
            }
            """, ct);

        await using StatePersistenceService service = await OpenAsync(null);
        Assert.Equal("written by the original implementation", (await service.LoadTaskAsync("legacy", ct))!.Description);
        Assert.True(JsonDocument.Parse(await File.ReadAllBytesAsync(_fixture.File("tasks", "legacy.json"), ct)).RootElement.TryGetProperty("$envelope", out _));
        await service.UpdateTaskAsync("legacy", t => t.Status = TaskStatuses.InProgress, ct);
        await service.SaveSnapshotAsync(ct);

        using JsonDocument document = JsonDocument.Parse(await File.ReadAllBytesAsync(_fixture.File("tasks", "legacy.json"), ct));
        Assert.Equal("legacy", document.RootElement.GetProperty("$envelope").GetProperty("id").GetString());
    }
}
