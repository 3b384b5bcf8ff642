using System.Formats.Tar;
using System.IO.Compression;
using StatePersistence.FileStore.Operations;
using StatePersistence.InMemory;
using StatePersistence.Serialization;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An archive renamed over the imported path while the import runs (an export to the same file, as a backup job
/// writes it, or any other writer). The import checks the archive, then hashes it for its marker, then writes its
/// files: all three from the one file it opened. Before 2026-12-07 each pass opened the path again, so the file the
/// check had read whole was not the one written: another export's state was restored in its place, and an entry the
/// check refuses (a path leaving the directory) was written where it pointed. The swap is made by the codec, as the
/// check opens the archive's <c>state.json</c>: deterministic, with no seam in the import. <c>ImportIntoAsync</c> restores
/// its copy the same way, and is tested here too.
/// </summary>
public sealed class ArchiveSwappedDuringImportTests : IDisposable
{
    private readonly StateFixture _checked = new();
    private readonly StateFixture _other = new();
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        _checked.Dispose();
        _other.Dispose();
        _directory.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Archive => _directory.Combine("backup.tar.gz");

    private string Restored => _directory.Combine("restored");

    [Fact]
    public async Task AnotherExport_RenamedOverTheArchiveWhileItIsChecked_TheCheckedOneIsImported()
    {
        var codec = new SwapOnFirstDecodeCodec();
        await ExportAsync(_checked, "checked", Archive, codec);
        string other = await ExportAsync(_other, "swapped", _directory.Combine("other.tar.gz"), codec);
        codec.Swap = () => File.Move(other, Archive, overwrite: true);

        StateArchiveResult imported = StateArchive.Import(Archive, Restored, codec, Ct);

        Assert.True(codec.Swapped, "the other archive was renamed over the path during the import");
        Assert.True(File.Exists(Path.Combine(Restored, "tasks", "checked.json")), "the archive checked is the one restored");
        Assert.False(File.Exists(Path.Combine(Restored, "tasks", "swapped.json")), "nothing of the archive renamed over it is restored");
        Assert.Equal(1, imported.Tasks);
        Assert.False(File.Exists(Path.Combine(Restored, "import-in-progress.json")));
    }

    [Fact]
    public async Task AnArchiveWithAnEscapingEntry_RenamedOverTheArchiveWhileItIsChecked_NothingIsWrittenOutsideTheDirectory()
    {
        var codec = new SwapOnFirstDecodeCodec();
        await ExportAsync(_checked, "checked", Archive, codec);
        string escaping = _directory.Combine("escaping.tar.gz");
        WriteEscapingArchive(escaping);
        codec.Swap = () => File.Move(escaping, Archive, overwrite: true);

        StateArchive.Import(Archive, Restored, codec, Ct);

        Assert.True(codec.Swapped, "the escaping archive was renamed over the path during the import");
        Assert.False(File.Exists(_directory.Combine("escaped.txt")), "an entry the check refuses was written outside the state directory");
        Assert.True(File.Exists(Path.Combine(Restored, "tasks", "checked.json")), "the archive checked is the one restored");
    }

    [Fact]
    public async Task AnotherExport_RenamedOverTheArchiveWhileItIsChecked_TheCheckedOneIsImportedIntoAStore()
    {
        var codec = new SwapOnFirstDecodeCodec();
        await ExportAsync(_checked, "checked", Archive, codec);
        string other = await ExportAsync(_other, "swapped", _directory.Combine("other.tar.gz"), codec);
        codec.Swap = () => File.Move(other, Archive, overwrite: true);
        var storage = new InMemoryStorage();

        await using (var store = new InMemoryStateStore(storage))
        {
            await StateArchive.ImportIntoAsync(Archive, store, codec, Ct);
        }

        Assert.True(codec.Swapped, "the other archive was renamed over the path during the import");
        await using var reopened = new InMemoryStateStore(storage);
        Assert.Equal(["checked"], (await reopened.OpenAsync(Ct)).View.Tasks.Keys);
    }

    private static async Task<string> ExportAsync(StateFixture fixture, string taskId, string archive, IPayloadCodec codec)
    {
        await using (StatePersistenceService service = await fixture.OpenAsync("file"))
        {
            await service.SaveTaskAsync(StateFixture.Task(taskId), Ct);
        }

        StateArchive.Export(fixture.StatePath, archive, codec, null, Ct);
        return archive;
    }

    /// <summary>A .tar.gz whose first entry's path leaves the directory it is restored into, then a <c>state.json</c>.</summary>
    internal static void WriteEscapingArchive(string path)
    {
        using FileStream file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (string name in (string[])["../escaped.txt", "state.json"])
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("{}"u8.ToArray()) });
        }
    }

    /// <summary>Seals as it is given (no secret), and runs <see cref="Swap"/> once, at the first payload it opens.</summary>
    private sealed class SwapOnFirstDecodeCodec : IPayloadCodec
    {
        public Action? Swap { get; set; }

        public bool Swapped { get; private set; }

        public string Name => "swap-on-first-decode";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
        {
            if (Swap is { } swap && !Swapped)
            {
                Swapped = true;
                swap();
            }

            return stored.ToArray();
        }
    }
}
