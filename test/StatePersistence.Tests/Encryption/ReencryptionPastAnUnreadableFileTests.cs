using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>keys rotate</c>, then <c>keys retire OLD --revoke --accept-unreadable</c> (a compromised key): a backup, a report
/// and a session log stay under the revoked key and can no longer be opened. The first such file's refusal ended the
/// whole re-encryption step, every step: the forced checkpoint never ran, so <c>state.json</c> and the task files stayed
/// under the revoked key and the next start refused the directory, while the log said only that saving failed. Each such
/// file is now left as it is, logged once and listed for health, and the step goes on with the rest.
/// </summary>
public sealed class ReencryptionPastAnUnreadableFileTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FakeLoggerProvider _logs = new();

    public void Dispose()
    {
        _logs.Dispose();
        _fixture.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string KeyFile => _fixture.KeyFilePath;

    [Fact]
    public async Task AfterARevocationThatLeavesABackupReportAndLogUnreadable_StateAndTaskFilesAreStillSealedUnderTheNewKey_AndTheLeftFilesAreReported()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("t2"), Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "line under the old key\n", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new { summary = "old" }), Ct);
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        string backup = Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));
        string report = _fixture.File("reports", "report_r1.json");
        string log = _fixture.File("logs", "session_s1.log");
        Assert.Equal(oldKey, KeyOf(backup));

        string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
        EncryptionKeyOperations.SetState(KeyFile, oldKey, EncryptionKeyState.Revoked); // --accept-unreadable: without looking
        StateFixture.ReloadKeyFile(service);

        await _fixture.TickUntilAsync(() => KeyOf(_fixture.File("state.json")) == newKey && ItemFiles().All(f => KeyOf(f) == newKey),
            "state.json and the item files sealed under the new key");

        Assert.NotEmpty(ItemFiles());
        Assert.DoesNotContain(Directory.GetFiles(_fixture.File("journal")), f => KeyOf(f) == oldKey);
        foreach (string left in new[] { backup, report, log })
        {
            Assert.True(File.Exists(left), $"{left} was moved or deleted");
            Assert.Equal(1, LeftReports(left));
            Assert.Contains(service.CheckHealth().Reasons, r => r.Contains(left, StringComparison.Ordinal) && r.Contains(oldKey, StringComparison.Ordinal));
        }

        Assert.True(service.CheckHealth().StoreDetails["reencryption_files_remaining"] >= 3);
        Assert.DoesNotContain(_logs.Collector.GetSnapshot(), r => r.Level >= LogLevel.Error && r.Message.Contains("Saving failed", StringComparison.Ordinal));

        // Three more steps (counted, not assumed from the time advanced): each file is reported once, not once a step.
        long steps = service.ReencryptionStepsCompleted;
        await _fixture.TickUntilAsync(() => service.ReencryptionStepsCompleted >= steps + 3, "three more re-encryption steps");

        Assert.Equal(1, LeftReports(backup));
    }

    [Fact]
    public async Task ABackupLeftUnreadable_LeavesTheHealthList_OnceItIsMovedAway()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        string backup = Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));
        EncryptionKeyOperations.Rotate(KeyFile);
        EncryptionKeyOperations.SetState(KeyFile, oldKey, EncryptionKeyState.Revoked);
        StateFixture.ReloadKeyFile(service);
        await _fixture.TickUntilAsync(() => LeftReports(backup) == 1, "the backup reported");

        string away = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "kept-backup.json");
        File.Move(backup, away);

        await _fixture.TickUntilAsync(() => !service.CheckHealth().Reasons.Any(r => r.Contains(backup, StringComparison.Ordinal)), "the backup off the health list");
    }

    [Fact]
    public async Task ATaskArchiveUnderTheRevokedKey_IsLeftAndReported_WhileStateJsonIsSealedUnderTheNewKey()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        await using StatePersistenceService service = await OpenAsync();
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Description = "archived", Status = TaskStatuses.Failed, UpdatedAt = now.AddDays(-10) }, Ct);
        await service.SaveTaskAsync(StateFixture.Task("live"), Ct);
        string archive = (await TaskArchives.ArchiveAsync(service, now, cancellationToken: Ct)).Archive!;
        await service.SaveSnapshotAsync(Ct);
        byte[] archived = File.ReadAllBytes(archive);

        string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
        EncryptionKeyOperations.SetState(KeyFile, oldKey, EncryptionKeyState.Revoked);
        StateFixture.ReloadKeyFile(service);

        await _fixture.TickUntilAsync(() => KeyOf(_fixture.File("state.json")) == newKey && LeftReports(archive) == 1,
            "state.json sealed under the new key, the archive reported");

        Assert.Equal(archived, File.ReadAllBytes(archive));
        Assert.Contains(service.CheckHealth().Reasons, r => r.Contains(archive, StringComparison.Ordinal));
    }

    private Task<StatePersistenceService> OpenAsync()
    {
        var loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));
        StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = KeyFile;
            o.ScrubInterval = TimeSpan.Zero;
            o.AutosaveInterval = TimeSpan.Zero;
        }), loggers, _fixture.Time);
        return StartAsync(service);
    }

    private static async Task<StatePersistenceService> StartAsync(StatePersistenceService service)
    {
        await service.StartAsync(Ct);
        return service;
    }

    private string[] ItemFiles() => [.. Directory.GetFiles(_fixture.File("tasks")), .. Directory.GetFiles(_fixture.File("sessions"))];

    private int LeftReports(string path) => _logs.Collector.GetSnapshot().Count(r =>
        r.Level == LogLevel.Error && r.Message.Contains(path + " cannot be opened and was left as it is", StringComparison.Ordinal));

    /// <summary>The key id the file's first envelope names; null in the clear or when the file is gone.</summary>
    private static string? KeyOf(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        int at = bytes.AsSpan().IndexOf("SPEV"u8);
        return at >= 0 && EnvelopeFormat.ReadHeader(bytes.AsSpan(at), out _, out _, out string? keyId) > 0 ? keyId : null;
    }
}
