using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A task archive in the clear (encryption off, or turned off and the archive rewritten in the clear) holding a session
/// log whose text carries the bytes of an envelope header: an agent that printed a sealed file, or pasted binary. The
/// key count searched every archive entry for the envelope's magic, so <c>keys list</c> counted a payload under the
/// key the text named (a made-up one listed as missing, exit 1; a real one never reached 0, so the procedure that
/// turns encryption off never ended, and <c>keys retire --remove</c> and <c>--revoke</c> of that key were refused).
/// The entries of an archive are now counted as its manifest says the store reads them: sealed, by the envelope each
/// entry starts with; in the clear, under no key. Before 2026-12-07 both tests failed.
/// </summary>
public sealed class FakeEnvelopeInArchivedLogTests : IDisposable
{
    private const string FakeKey = "made-up-key";

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A complete envelope header for AES-256-GCM under <paramref name="key"/>, all ASCII.</summary>
    private static string Header(string key) => $"SPEV\u0001\0\u000b{(char)key.Length}aes-256-gcm{key}";

    [Fact]
    public async Task AClearArchive_WhoseLogHoldsAFakeHeader_IsCountedInTheClear_UnderNoKey()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero))
        {
            await ArchiveWithLogAsync(service, $"pasted binary: {Header(FakeKey)} and more\n");
        }

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);

        Assert.DoesNotContain(FakeKey, usage.ByKey.Keys);
        Assert.Empty(usage.ByKey);
    }

    [Fact]
    public async Task AfterEncryptionIsTurnedOff_AnArchiveRewrittenInTheClear_LeavesTheKeyWithNoPayload()
    {
        string key = EncryptionKeyFile.Create(_fixture.KeyFilePath).Active.Id;
        await using StatePersistenceService service = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance);
        // The log names the real key: an agent that printed one of the state's own sealed files.
        string archive = await ArchiveWithLogAsync(service, $"cat tasks/t.json: {Header(key)}...\n");

        EncryptionKeyOperations.Disable(_fixture.KeyFilePath);
        StateFixture.ReloadKeyFile(service);
        await service.ReencryptToEndAsync(Ct);

        Assert.False(TaskArchiveFile.Read(File.ReadAllBytes(archive), archive).Manifest.Sealed, "the archive was not rewritten in the clear");
        KeyUsageCount left = EncryptionKeyUsage.Measure(_fixture.StatePath).For(key);
        Assert.Equal(0, left.Payloads);
    }

    /// <summary>Archives a failed task with its session's log holding <paramref name="text"/>; returns the archive's path.</summary>
    private async Task<string> ArchiveWithLogAsync(StatePersistenceService service, string text)
    {
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Description = "archived", Status = TaskStatuses.Failed, UpdatedAt = now.AddDays(-10) }, Ct);
        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "done", TaskId = "old" }, Ct));
        await service.AppendSessionLogAsync("s1", text, Ct);
        await service.SaveTaskAsync(StateFixture.Task("live"), Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, now, withLogs: true, cancellationToken: Ct);
        Assert.Equal(["old"], archived.Tasks);
        await service.SaveSnapshotAsync(Ct);
        return archived.Archive!;
    }
}
