using System.Text;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Testing;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// The Node import joins a session's per-call logs after the log already there, writing the joined log as it reads it,
/// a frame at a time, and validates it against a digest of the text: a log of gigabytes takes no memory of its size
/// (before, the log was read whole, the new log built whole beside it, its text kept whole until the validation read
/// the log back whole). The text reads back byte for byte.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportLogStreamingTests : IDisposable
{
    /// <summary>The largest read the migration may ask of the log: larger than any append here, smaller than the log.</summary>
    private const int ReadLimit = 1 << 20;

    private readonly StateFixture _fixture = new();

    public NodeImportLogStreamingTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_sess_a.log");

    [Fact]
    public async Task AFramedLogOfManyAppends_IsJoinedAFrameAtATime_AndReadsBackByteForByte()
    {
        string before = WriteFramedLog();
        var disk = new BoundedReadFileSystem(PhysicalFileSystem.Instance, p => p.EndsWith("/logs/session_sess_a.log", StringComparison.Ordinal), ReadLimit);

        MigrationStatus status = await StateMigrations.ApplyAsync(_fixture.Options(), disk, MigrationChain.Default, null, _fixture.Time, Ct);

        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        Assert.StartsWith("migrated", status.Outcome, StringComparison.Ordinal);
        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.Equal(before + NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", Ct));
    }

    [Fact]
    public async Task APlainLogOfSeveralMegabytes_IsFramedAPieceAtATime_AndReadsBackByteForByte()
    {
        string before = string.Concat(Enumerable.Range(0, 50_000).Select(i => $"[{i:D6}] plain line é\n"));
        await File.WriteAllTextAsync(Log, before, Ct);
        Assert.True(new FileInfo(Log).Length > ReadLimit, "the log must be larger than a piece");

        await StateMigrations.ApplyAsync(_fixture.Options(), PhysicalFileSystem.Instance, MigrationChain.Default, null, _fixture.Time, Ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.Equal(before + NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", Ct));
    }

    /// <summary>
    /// One <c>saveSessionLog</c> call of several megabytes (a build's whole output): read whole, a per-call file of
    /// 300 MB took 1.29 GB to join, and the migration ended in an OutOfMemoryException under a 768 MB heap limit.
    /// </summary>
    [Fact]
    public async Task APerCallLogOfSeveralMegabytes_IsJoinedAPieceAtATime_AndReadsBackByteForByte()
    {
        string call = string.Concat(Enumerable.Range(0, 100_000).Select(i => $"[{i:D6}] build output é\n"));
        await File.WriteAllTextAsync(_fixture.File("logs", "session_sess_a_1704103290000.log"), call, Ct);
        var disk = new BoundedReadFileSystem(PhysicalFileSystem.Instance, p => p.EndsWith("/logs/session_sess_a_1704103290000.log", StringComparison.Ordinal), ReadLimit);
        Assert.True(new FileInfo(_fixture.File("logs", "session_sess_a_1704103290000.log")).Length > 2 * ReadLimit, "the call must span several pieces");

        MigrationStatus status = await StateMigrations.ApplyAsync(_fixture.Options(), disk, MigrationChain.Default, null, _fixture.Time, Ct);

        Assert.True(disk.LargestRead > 0, "the call was read through the bounded file system");
        Assert.StartsWith("migrated", status.Outcome, StringComparison.Ordinal);
        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.Equal(NodeStateDirectory.SessionALog + call, await service.ReadSessionLogAsync("sess_a", Ct));
    }

    /// <summary>A framed log (version 2) of 60 appends of up to 300 KB, as an earlier build left it; returns its text.</summary>
    private string WriteFramedLog()
    {
        var text = new StringBuilder();
        using var file = new FileStream(Log, FileMode.CreateNew);
        for (int i = 0; i < 60; i++)
        {
            string append = new string((char)('a' + (i % 26)), 1 + (i * 104_729 % 300_000)) + "é\0\n";
            file.Write(SessionLogFormat.Frame(Encoding.UTF8.GetBytes(append), i == 0 ? SessionLogFormat.PlainVersion : null));
            text.Append(append);
        }

        Assert.True(file.Length > 4 * ReadLimit, "the log must be larger than the read limit");
        return text.ToString();
    }
}
