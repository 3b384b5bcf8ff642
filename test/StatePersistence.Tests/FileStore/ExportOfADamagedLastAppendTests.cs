using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A session log whose last append is whole (length and trailer hold) but fails its checksum: damage at rest, or an
/// append in flight beside a running server. The export left it out without a word; it now reads the log again after
/// the settle time <c>statectl verify</c> waits (<see cref="DamagedLastAppendJudgement"/>) and, when the append is still
/// there and still fails, leaves it out and names it in <see cref="StateArchiveResult.Problems"/> (session, bytes, why,
/// what the next start does). An append that completed meanwhile is copied, with no warning.
/// </summary>
public sealed class ExportOfADamagedLastAppendTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Archive => _fixture.File("..", "export.tar.gz");

    private string Restored => _fixture.File("..", "restored");

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task ALastAppendStillFailingItsChecksum_IsLeftOut_AndNamed_WithTheSessionTheBytesAndWhatTheNextStartDoes()
    {
        await WriteLogAsync("one\n", "two\n");
        (byte[] bytes, long last) = DamagedLogAppends.DamageLastAppend(Log, "two\n");

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.Equal("s1", problem.Id);
        Assert.Contains($"the last append (bytes {last}..{bytes.Length - 1}) is whole but fails its checksum", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("it is not in the export", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("the next start of a server copies the log aside and cuts that append off", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(bytes[..(int)last], await File.ReadAllBytesAsync(Path.Combine(Restored, "logs", "session_s1.log"), Ct));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Log, Ct));
    }

    [Fact]
    public async Task AHealthyLog_IsCopiedWhole_WithNoProblem()
    {
        await WriteLogAsync("one\n", "two\n");
        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        Assert.Empty(exported.Problems);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(Restored, "logs", "session_s1.log"), Ct));
    }

    [Fact]
    public async Task AnAppendInFlight_ThatLookedWholeAndCompletedWhileTheExportWaited_IsCopied_WithNoProblem()
    {
        await WriteLogAsync("one\n");
        byte[] rest = DamagedLogAppends.AppendInFlightLookingWhole(Log);

        var layout = new StateLayout(_fixture.StatePath);
        Assert.NotNull(new SessionLogs(PhysicalFileSystem.Instance, layout, PayloadEnvelope.For(null), TimeProvider.System, _ => { }).ScanFile("s1", Log)?.DamagedLastAppend);
        byte[] whole = [.. await File.ReadAllBytesAsync(Log, Ct), .. rest];
        var pauses = new List<TimeSpan>();
        var leftOut = new List<StateDirectoryProblem>();
        byte[]? copied = null;

        SessionLogExport.CopyAll(PhysicalFileSystem.Instance, layout, PayloadEnvelope.For(null), (_, content) =>
        {
            using var buffer = new MemoryStream();
            content.CopyTo(buffer);
            copied = buffer.ToArray();
        }, leftOut, pause =>
        {
            // The server finishes the append while the export waits.
            pauses.Add(pause);
            using FileStream stream = new(Log, FileMode.Append);
            stream.Write(rest);
        });

        Assert.Equal([DamagedLastAppendJudgement.SettleTime], pauses);
        Assert.Empty(leftOut);
        Assert.Equal(whole, copied);
    }

    private async Task WriteLogAsync(params string[] appends)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        foreach (string append in appends)
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }
    }
}
