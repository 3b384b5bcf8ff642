using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The kinds <see cref="StateDiskUsage"/> (<c>statectl du</c>, <c>statectl health</c>) counts a file under, and the
/// files <see cref="StateDirectoryVerifier"/> (<c>statectl verify</c>) lists as moved aside.
/// </summary>
public sealed class DiskUsageKindTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private long FilesOf(string kind) => StateDiskUsage.Measure(_directory.Path).Kinds.Single(k => k.Kind == kind).Files;

    [Fact]
    public void TempFileOfACopyKeptAside_IsOther_NotQuarantined()
    {
        // The audit's case: start-up writes a torn tail's copy atomically, through a temp file whose name holds the
        // copy's (".corrupt."); left by a crash, it was counted as a file moved aside, which it never became.
        Directory.CreateDirectory(_directory.Combine("journal"));
        File.WriteAllText(_directory.Combine("journal", "0000000003.wal.tail.corrupt.20240101T000000-0000000Z.json.1.tmp"), "half a copy");
        File.WriteAllText(_directory.Combine("journal", "0000000002.wal.tail.corrupt.20240101T000000-0000000Z.json"), "a copy kept aside");

        Assert.Equal(1, FilesOf("quarantined"));
        Assert.Equal(1, FilesOf("other"));
        Assert.Equal([_directory.Combine("journal", "0000000002.wal.tail.corrupt.20240101T000000-0000000Z.json")],
            StateDirectoryVerifier.Verify(_directory.Path).Quarantined);
    }
}
