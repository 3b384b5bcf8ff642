using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The writing pass of an import meets an entry the check would have refused: the archive was written into in place
/// since it was checked (its handle keeps a rename from mattering, not that). The entry is refused by the check's own
/// rule and not written, the import-in-progress marker left so nothing opens the directory. Before 2026-12-07 the
/// writing pass applied no rule of its own and wrote an entry named <c>../escaped.txt</c> beside the state directory.
/// </summary>
public sealed class ArchiveChangedWhileImportedTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AnEntryTheCheckRefuses_MetWhileWriting_IsRefusedAndNotWritten()
    {
        string escaping = _directory.Combine("escaping.tar.gz");
        ArchiveSwappedDuringImportTests.WriteEscapingArchive(escaping);
        var layout = new StateLayout(_directory.Combine("restored"));
        using FileStream file = File.OpenRead(escaping);

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() =>
            StateArchive.ImportFiles(PhysicalFileSystem.Instance, escaping, file, layout, TimeProvider.System, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("'../escaped.txt' has a path that would leave the state directory", refused.Message, StringComparison.Ordinal);
        Assert.Contains(layout.ImportMarkerFile, refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_directory.Combine("escaped.txt")), "the refused entry was written outside the state directory");
        Assert.True(File.Exists(layout.ImportMarkerFile), "the marker stays, so nothing opens the directory as a state");
    }
}
