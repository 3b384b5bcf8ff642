using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An archive rewritten in place (<c>cp other.tar.gz backup.tar.gz</c>: the same file, truncated and written anew,
/// under the handle the import holds) right after the check's last read, before any other pass over it. The bytes the
/// writing pass reads are not the ones checked: refused, the import-in-progress marker left, so nothing opens the
/// directory. Before 2026-12-07 the marker's SHA-256 came from a pass of its own after the check, so it named the
/// rewritten bytes, the writing pass matched them, and the import returned with the other export's state, never checked.
/// </summary>
public sealed class ArchiveRewrittenAfterItsCheckTests : IDisposable
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
    public async Task AnArchiveRewrittenInPlace_RightAfterItsCheck_IsRefusedAndTheDirectoryDoesNotOpen()
    {
        string archive = await ExportAsync(_checked, "checked", _directory.Combine("backup.tar.gz"));
        byte[] otherExport = await File.ReadAllBytesAsync(await ExportAsync(_other, "rewritten", _directory.Combine("other.tar.gz")), Ct);
        var layout = new StateLayout(_directory.Combine("restored"));

        // The check rewinds the archive to its start once, and reads it to its end; the next rewind is the first pass
        // after the check. Unbuffered, so every read after the rewrite sees the file as it is then.
        using var file = new RewindHookStream(
            new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0),
            rewindsBefore: 1, () => File.WriteAllBytes(archive, otherExport));

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() => StateArchive.Import(archive, file, layout, null, Ct));

        Assert.True(file.Ran, "the archive was rewritten during the import");
        Assert.Contains($"The archive '{archive}' changed while it was imported", refused.Message, StringComparison.Ordinal);
        Assert.Contains(layout.ImportMarkerFile, refused.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(layout.ImportMarkerFile), "the marker stays, so nothing opens the directory as a state");
        Assert.Throws<StateImportIncompleteException>(() => StateDirectoryReader.Read(layout.Root));
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

    /// <summary>
    /// A seekable read stream that runs an action, once, when it is rewound to its start after
    /// <paramref name="rewindsBefore"/> earlier rewinds: the moment between two passes over a file, with no timing.
    /// </summary>
    private sealed class RewindHookStream(Stream inner, int rewindsBefore, Action action) : Stream
    {
        private int _rewinds;

        public bool Ran { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            if (origin == SeekOrigin.Begin && offset == 0 && _rewinds++ == rewindsBefore)
            {
                action();
                Ran = true;
            }

            return inner.Seek(offset, origin);
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
