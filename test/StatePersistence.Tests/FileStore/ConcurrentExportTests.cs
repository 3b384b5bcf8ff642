using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Two exports to the same file at once (an hourly backup job overlapping a slow run, or an operator's run beside it).
/// Each writes its archive to a temp file of its own and renames it into place whole. Before 2026-12-07 every export
/// wrote the same temp file, <c>FILE.1.tmp</c> (the counter starts again with each export): the second truncated the
/// first one's half-written file and renamed it into place, the first went on writing into it, now the archive, and then
/// failed with "Could not find file 'FILE.1.tmp'". In a run of two real statectl processes the first to finish answered
/// exit 0 while the archive it named did not read (gzip: invalid compressed data).
/// </summary>
public sealed class ConcurrentExportTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Archive => Path.GetFullPath(_fixture.File("..", "export.tar.gz"));

    [Fact]
    public async Task ASecondExport_ToTheSameFile_WhileTheFirstIsWriting_LeavesEachWhole_AndBothSucceed()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync("file"))
        {
            await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "first" }, Ct);
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", string.Concat(Enumerable.Repeat("a line of the session log\n", 20_000)), Ct);
        }

        // The second export runs whole after the first has written the first bytes of its temp file.
        StateArchiveResult? second = null;
        var disk = new FirstWriteHookFileSystem(PhysicalFileSystem.Instance, path => path.StartsWith(Archive + ".", StringComparison.Ordinal),
            () => second = StateArchive.Export(_fixture.StatePath, Archive, null, null, Ct));

        StateArchiveResult first = StateArchive.Export(_fixture.StatePath, Archive, null, null, disk, Ct);

        Assert.NotNull(second);
        Assert.Equal(first.Bytes, new FileInfo(Archive).Length);
        string restored = _fixture.File("..", "restored");
        StateArchiveResult imported = StateArchive.Import(Archive, restored, null, Ct);
        Assert.Equal(1, imported.Tasks);
        Assert.Equal(1, imported.Logs);
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.GetDirectoryName(Archive)!), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    /// <summary>Runs an action once, on the writer's thread, right after the first write to a file created under a path the filter accepts.</summary>
    private sealed class FirstWriteHookFileSystem(IFileSystem inner, Func<string, bool> filter, Action action) : PassThroughFileSystem(inner)
    {
        private Action? _action = action;

        public override IFileHandle Open(string path, FileOpenMode mode) =>
            mode is FileOpenMode.CreateNew or FileOpenMode.CreateOrTruncate && filter(path) && _action is not null
                ? new HookedHandle(Inner.Open(path, mode), this)
                : Inner.Open(path, mode);

        private void AfterWrite()
        {
            Action? action = Interlocked.Exchange(ref _action, null);
            action?.Invoke();
        }

        private sealed class HookedHandle(IFileHandle inner, FirstWriteHookFileSystem owner) : IFileHandle
        {
            public string Path => inner.Path;

            public long Length => inner.Length;

            public int Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

            public void Write(long offset, ReadOnlySpan<byte> data)
            {
                inner.Write(offset, data);
                owner.AfterWrite();
            }

            public void SetLength(long length) => inner.SetLength(length);

            public void Sync() => inner.Sync();

            public bool IsStillAtPath() => inner.IsStillAtPath();

            public void Dispose() => inner.Dispose();
        }
    }
}
