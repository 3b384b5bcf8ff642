using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Reads of a report racing the writes that replace, move aside or delete it. A read finds a report corrupt while a save replaces it: what is moved aside is the corrupt file the read found, never
/// the report the save has just made durable. The read checks again under the lock report saves take, and serves the
/// saved report. Before 2026-12-07 the read moved aside whatever was at the path by then, so a save acknowledged a moment
/// earlier was taken out of the store and the read answered "corrupt"; a second read racing the first to move one corrupt
/// report aside failed as a storage failure (its rename found the file gone).
/// </summary>
public sealed class CorruptReportReadRaceTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACorruptReportSavedAgainWhileItIsRead_KeepsTheSavedReport_AndMovesNothingAside()
    {
        var disk = new ReadHookFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: disk);
        await service.SaveReportAsync("r1", Json("""{"week":1}"""), Ct);
        string path = _fixture.File("reports", "report_r1.json");
        Corrupt(path);

        // The read has opened the corrupt file when a client's save of the report lands and returns.
        disk.ArmNextRead(p => p == path, () => service.SaveReportAsync("r1", Json("""{"week":2}"""), Ct).AsTask().GetAwaiter().GetResult());
        JsonElement? read = await service.LoadReportAsync("r1", Ct);

        Assert.True(disk.Ran, "the save landed while the report was read");
        Assert.Equal(2, read?.GetProperty("week").GetInt32());
        Assert.Equal(2, (await service.LoadReportAsync("r1", Ct))?.GetProperty("week").GetInt32());
        Assert.Empty(Directory.GetFiles(_fixture.File("reports"), "report_r1.corrupt.*"));
    }

    [Fact]
    public async Task ACorruptReportMovedAsideByAnotherRead_WhileItIsRead_IsNoStorageFailure()
    {
        var disk = new ReadHookFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: disk);
        await service.SaveReportAsync("r1", Json("""{"week":1}"""), Ct);
        string path = _fixture.File("reports", "report_r1.json");
        Corrupt(path);

        // Two reads of the corrupt report: the second moves it aside while the first has read it.
        StateStorageException? second = null;
        disk.ArmNextRead(p => p == path, () => second = Assert.Throws<StateStorageException>(() => service.LoadReportAsync("r1", Ct).AsTask().GetAwaiter().GetResult()));
        JsonElement? first = await service.LoadReportAsync("r1", Ct);

        Assert.True(disk.Ran);
        Assert.Contains("is corrupt", second!.Message, StringComparison.Ordinal);
        Assert.Null(first);
        Assert.Single(Directory.GetFiles(_fixture.File("reports"), "report_r1.corrupt.*"));
    }

    [Fact]
    public async Task AReportDeletedBetweenTheReadsLookAndItsOpen_LoadsAsNone()
    {
        var disk = new ReadHookFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: disk);
        await service.SaveReportAsync("r1", Json("""{"week":1}"""), Ct);
        string path = _fixture.File("reports", "report_r1.json");

        // The retention pass expires the report after the read saw its file and before it opens it.
        var retention = (IRetentionStore)service.Store;
        disk.ArmNextRead(p => p == path, () => Assert.NotNull(retention.ExpireReportAsync("r1", _ => true, Durability.Full, Ct).AsTask().GetAwaiter().GetResult()),
            before: true);
        JsonElement? read = await service.LoadReportAsync("r1", Ct);

        Assert.True(disk.Ran, "the report was expired while it was read");
        Assert.Null(read);
    }

    /// <summary>A byte of the report's text changed: still JSON, only its checksum tells.</summary>
    private static void Corrupt(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int at = Encoding.UTF8.GetString(bytes).IndexOf("week", StringComparison.Ordinal);
        bytes[at] = (byte)'W';
        File.WriteAllBytes(path, bytes);
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
