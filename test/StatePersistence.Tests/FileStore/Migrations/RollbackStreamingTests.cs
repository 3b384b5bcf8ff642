using System.Text;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Testing;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// A rollback hashes and copies each file a block at a time. It read every file whole (the file in place, its
/// pre-migration copy, and what it moves aside): twice the largest file in memory, and past 2 GiB "too large to read
/// at once", so a directory holding such a session log could not be rolled back, and an interrupted migration's
/// automatic rollback left it unopenable. Writing 2 GiB is too slow for a unit test; instead the session logs are
/// read through a file system that refuses any single read larger than a block (<see cref="BoundedReadFileSystem"/>),
/// far smaller than the log: a whole read fails, so a rollback that passes holds a block of each file, whatever its size.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RollbackStreamingTests : IDisposable
{
    /// <summary>The largest single read a streaming rollback may ask of a log: its block, 1/64 of the log here.</summary>
    private const int ReadLimit = 1 << 16;

    private const int LogSize = 64 * ReadLimit;

    private readonly StateFixture _fixture = new();

    public RollbackStreamingTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Rollback_OfALargeSessionLog_ReadsItABlockAtATime_NeverWhole_AndRestoresItByteForByte()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        // A Node per-call log of 4 MiB: the migration joins it into logs/session_sess_a.log, which the rollback moves
        // aside (read, copied), and the rollback restores it from its pre-migration copy (hashed, copied).
        string large = _fixture.File("logs", "session_sess_a_1704103290000.log");
        var text = new StringBuilder();
        for (int line = 0; text.Length < LogSize; line++)
        {
            text.Append("[10:01:30] line ").Append(line).Append(" of a long tool output\n");
        }

        await File.WriteAllTextAsync(large, text.ToString(), ct);
        File.SetUnixFileMode(large, NodeStateDirectory.FileMode);
        // Bytes only: the test's file system passes no Unix modes through (MigrationRunTests checks that modes are restored).
        SortedDictionary<string, byte[]> before = NodeStateDirectory.ReadAll(_fixture.StatePath);
        await StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: ct);
        string joined = _fixture.File("logs", "session_sess_a.log");
        byte[] migrated = await File.ReadAllBytesAsync(joined, ct);
        Assert.True(migrated.Length > LogSize, "the joined log must hold the large one");
        var disk = new BoundedReadFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance,
            p => p.Contains("/logs/session_", StringComparison.Ordinal), ReadLimit);

        StateMigrations.Rollback(_fixture.Options(), disk, MigrationChain.Default, codec: null, _fixture.Time);

        Assert.Equal(before, NodeStateDirectory.ReadAll(_fixture.StatePath, DirectorySnapshot.IsRestoredByRollback));
        string keptIn = Assert.Single(Directory.GetDirectories(_fixture.StatePath, PreMigrationBackup.DiscardFolderPrefix + "*"));
        Assert.Equal(migrated, await File.ReadAllBytesAsync(Path.Combine(keptIn, "logs", "session_sess_a.log"), ct));
        // The logs were read through the bound (the copy and the moved-aside log at least once each), never whole.
        Assert.True(disk.BytesRead >= 2L * LogSize, $"only {disk.BytesRead} bytes of the logs were read through the bound");
        Assert.True(disk.LargestRead <= ReadLimit, $"a read of {disk.LargestRead} bytes");
    }
}
