using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>statectl keys verify</c> (<see cref="PayloadSweep"/>) runs beside a server, read-only, and listed a session log's
/// last append that is whole but fails its checksum as damage at once: an append in flight looks like that when its
/// text holds a frame trailer at just the length written so far. It now reads the log again after the settle time
/// <c>statectl verify</c> and the export wait (<see cref="DamagedLastAppendJudgement"/>) and lists the append only when
/// it is still there, still failing.
/// </summary>
public sealed class KeysVerifyOfADamagedLastAppendTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task AnAppendInFlight_ThatLookedWholeAndCompletedWhileTheSweepWaited_IsNoProblem()
    {
        await WriteLogAsync("one\n");
        byte[] rest = DamagedLogAppends.AppendInFlightLookingWhole(Log);

        var pauses = new List<TimeSpan>();
        IReadOnlyList<string> problems = Sweep(pause =>
        {
            // The server finishes the append while the sweep waits.
            pauses.Add(pause);
            using FileStream stream = new(Log, FileMode.Append);
            stream.Write(rest);
        });

        Assert.Equal([DamagedLastAppendJudgement.SettleTime], pauses);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ALastAppendStillFailingItsChecksum_IsListed_AfterTheSettleTime()
    {
        await WriteLogAsync("one\n", "two\n");
        (byte[] bytes, long last) = DamagedLogAppends.DamageLastAppend(Log, "two\n");
        var pauses = new List<TimeSpan>();

        IReadOnlyList<string> problems = Sweep(pauses.Add);

        Assert.Equal([DamagedLastAppendJudgement.SettleTime], pauses);
        string problem = Assert.Single(problems);
        Assert.Contains(Log, problem, StringComparison.Ordinal);
        Assert.Contains($"bytes {last}..{bytes.Length - 1} are damaged (the last append fails its checksum)", problem, StringComparison.Ordinal);
    }

    private IReadOnlyList<string> Sweep(Action<TimeSpan> pause) =>
        new PayloadSweep(PhysicalFileSystem.Instance, new StateLayout(_fixture.StatePath), PayloadEnvelope.For(null), Ct, pause).Run();

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
