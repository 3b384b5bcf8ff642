using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// What a sealed archive's task entry holds is known only where a key opens it: the check of an archive given the key
/// ring (<see cref="TaskArchives.Check"/>, which <c>statectl verify --store postgres</c> runs on every archive row)
/// judges it as the restore does, naming a task entry that holds another task; the whole read without a key reads it as
/// bytes and does not claim to. Before 2026-12-07 the check opened each sealed entry and did not look inside, so such
/// an archive verified sound and was refused by its restore.
/// </summary>
public sealed class SealedTaskEntryJudgedWhereOpenedTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ASealedTaskEntryHoldingAnotherTask_IsDamagedToTheCheckThatOpensIt_InTheRestoresWords()
    {
        var payloads = new StorePayloads(new AesGcmCodec(EncryptionKeyFile.Create(_temp.Combine("keys.json"))));
        DateTimeOffset at = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var manifest = new TaskArchiveManifest(TaskArchiveManifest.FormatName, TaskArchiveManifest.CurrentVersion, at, at, WithLogs: false,
            [new ArchivedTask("t_c", "completed", 1, "completedAt", at, [], [])], [], Sealed: true);
        byte[] otherTask = """{"id":"t_d","status":"completed"}"""u8.ToArray();
        using var archive = new MemoryStream();
        TaskArchiveFile.Write(archive, manifest, [("tasks/t_c.json", payloads.Seal(PayloadKind.Task, "tasks/t_c.json", otherTask))]);

        int withoutKey = TaskArchives.Check(archive.ToArray(), "db/task_archives/a");
        InvalidDataException withKey = Assert.Throws<InvalidDataException>(() => TaskArchives.Check(archive.ToArray(), "db/task_archives/a", payloads));

        Assert.Equal(1, withoutKey);
        Assert.Equal("The archive 'db/task_archives/a' is damaged: its entry 'tasks/t_c.json' holds task 't_d'.", withKey.Message);
    }
}
