using System.Text;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// What <c>statectl verify</c> gave up to read a state in less memory, without checking less: a backup is checked by
/// <see cref="SnapshotReader.Check"/>, which keeps no item but must refuse every file <see cref="SnapshotReader.Read"/>
/// refuses, with the same error; and the read of the state keeps a hash of <c>state.json</c>, not its bytes, to tell
/// one replaced during the read from one restored by hand.
/// </summary>
public sealed class VerifyMemoryTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    public static TheoryData<string> DamagedSnapshots =>
    [
        """{"version":"2.0.0","revision":1,"tasks":[{"id":"task_1","status":5}]}""",
        """{"version":"2.0.0","revision":1,"tasks":[{"id":"not an id!","status":"pending"}]}""",
        """{"version":"2.0.0","revision":1,"sessions":[{"id":"s1","created_at":"yesterday"}]}""",
        """{"version":"2.0.0","revision":1,"tasks":[1]}""",
        """{"version":"2.0.0","revision":"one","tasks":[]}""",
        """{"version":"2.0.0","revision":1,"tasks":[{"id":"task_1"}""",
        """{"revision":1,"tasks":[]}""",
        "checksum",
    ];

    [Theory]
    [MemberData(nameof(DamagedSnapshots))]
    public async Task Check_RefusesWhatReadRefuses_WithTheSameError(string text)
    {
        byte[] bytes = text == "checksum" ? await StoreSnapshotWithAFlippedByteAsync() : Encoding.UTF8.GetBytes(text);

        Exception read = Assert.ThrowsAny<Exception>(() => SnapshotReader.Read(bytes, "state.json"));
        Exception check = Assert.ThrowsAny<Exception>(() => SnapshotReader.Check(bytes, "state.json"));

        Assert.Equal((read.GetType(), read.Message), (check.GetType(), check.Message));
    }

    [Fact]
    public async Task Check_PassesASnapshotTheStoreWrote()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);

        SnapshotReader.Check(await File.ReadAllBytesAsync(_fixture.File("state.json"), ct), "state.json");
    }

    [Fact]
    public async Task StateJsonRestoredByHand_IsReportedOnTheFirstAttempt_ItsContentUnchangedDuringTheRead()
    {
        // state.json older than the journal: either a checkpoint replaced it during the read (read again) or it was
        // restored by hand. The read tells them apart by reading it again; unchanged, the first attempt reports it.
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] old;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await service.SaveSnapshotAsync(ct);
            old = await File.ReadAllBytesAsync(_fixture.File("state.json"), ct);
            for (int i = 2; i < 5; i++)
            {
                await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), ct);
                await service.SaveSnapshotAsync(ct);
            }

            await service.SaveTaskAsync(StateFixture.Task("task_9"), ct);
        }

        await File.WriteAllBytesAsync(_fixture.File("state.json"), old, ct);

        StateDirectoryView read = StateDirectoryReader.Read(_fixture.StatePath, checkItemFiles: false);

        Assert.Contains(read.Problems, p => p.Problem.Contains("older than the journal", StringComparison.Ordinal));
        Assert.Equal(1, read.Attempts);
    }

    private async Task<byte[]> StoreSnapshotWithAFlippedByteAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotAsync(ct);
        byte[] bytes = await File.ReadAllBytesAsync(_fixture.File("state.json"), ct);
        int at = bytes.AsSpan().IndexOf("Implement"u8);
        bytes[at] ^= 0x20; // "Implement" -> "implement": still valid JSON, still a valid task
        return bytes;
    }

    private async Task WriteSnapshotAsync(CancellationToken ct)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        await service.SaveSnapshotAsync(ct);
    }
}
