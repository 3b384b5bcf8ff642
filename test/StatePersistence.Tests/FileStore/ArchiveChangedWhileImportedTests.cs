using System.Security.Cryptography;
using StatePersistence.Errors;
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
/// An archive rewritten in place with entries the check would pass (another export copied over it) is found by the
/// bytes the writing pass read, which are not the ones hashed into the marker: refused, the marker left. Before
/// 2026-12-07 that import returned, and the directory opened with the other export's state, never checked.
/// </summary>
public sealed class ArchiveChangedWhileImportedTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly StateFixture _checked = new();
    private readonly StateFixture _other = new();

    public void Dispose()
    {
        _checked.Dispose();
        _other.Dispose();
        _directory.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void AnEntryTheCheckRefuses_MetWhileWriting_IsRefusedAndNotWritten()
    {
        string escaping = _directory.Combine("escaping.tar.gz");
        ArchiveSwappedDuringImportTests.WriteEscapingArchive(escaping);
        var layout = new StateLayout(_directory.Combine("restored"));
        using FileStream file = File.OpenRead(escaping);

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() =>
            StateArchive.ImportFiles(PhysicalFileSystem.Instance, escaping, file, Digest(file), layout, TimeProvider.System, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("'../escaped.txt' has a path that would leave the state directory", refused.Message, StringComparison.Ordinal);
        Assert.Contains(layout.ImportMarkerFile, refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_directory.Combine("escaped.txt")), "the refused entry was written outside the state directory");
        Assert.True(File.Exists(layout.ImportMarkerFile), "the marker stays, so nothing opens the directory as a state");
    }

    [Fact]
    public async Task AnArchiveRewrittenInPlace_AfterItWasHashed_IsRefusedAndTheDirectoryDoesNotOpen()
    {
        string archive = await ExportAsync(_checked, "checked", _directory.Combine("backup.tar.gz"));
        byte[] otherExport = await File.ReadAllBytesAsync(await ExportAsync(_other, "rewritten", _directory.Combine("other.tar.gz")), Ct);
        var layout = new StateLayout(_directory.Combine("restored"));
        var disk = new CreateHookFileSystem(PhysicalFileSystem.Instance);

        // As the marker is written, the archive is rewritten as `cp other.tar.gz backup.tar.gz` does: the same file,
        // truncated and written anew, under the handle the import holds (a rename over the path would not reach it).
        disk.ArmNextCreate(path => path.StartsWith(layout.ImportMarkerFile, StringComparison.Ordinal), () => File.WriteAllBytes(archive, otherExport));
        using FileStream file = File.OpenRead(archive);

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() =>
            StateArchive.ImportFiles(disk, archive, file, Digest(file), layout, TimeProvider.System, cancellationToken: Ct));

        Assert.True(disk.Ran, "the archive was rewritten during the import");
        Assert.Contains($"The archive '{archive}' changed while it was imported", refused.Message, StringComparison.Ordinal);
        Assert.Contains(layout.ImportMarkerFile, refused.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(layout.ImportMarkerFile), "the marker stays, so nothing opens the directory as a state");
        Assert.Throws<StateImportIncompleteException>(() => StateDirectoryReader.Read(layout.Root));
    }

    /// <summary>The size and SHA-256 of the archive as it is now: what its check would have read (these tests write without one).</summary>
    private static (long, string) Digest(Stream file)
    {
        file.Position = 0;
        return (file.Length, Convert.ToHexStringLower(SHA256.HashData(file)));
    }

    private static async Task<string> ExportAsync(StateFixture fixture, string taskId, string archive)
    {
        await using (StatePersistenceService service = await fixture.OpenAsync("file"))
        {
            await service.SaveTaskAsync(StateFixture.Task(taskId), Ct);
        }

        StateArchive.Export(fixture.StatePath, archive, null, null, Ct);
        return archive;
    }
}
