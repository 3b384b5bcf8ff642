using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Native;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Peers;

/// <summary>
/// The obvious per-task atomic write: write <c>&lt;id&gt;.json.tmp</c>, fsync it, rename it over
/// <c>&lt;id&gt;.json</c>, fsync the directory. Durable and atomic, but it creates a file per save.
/// </summary>
internal sealed class AtomicRenameCase : IBenchCase
{
    private TaskFiles? _files;
    private TaskDocuments? _documents;

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("atomic-rename", 1), CaseGroup.Peers)
    {
        Durability = "full",
        Note = "temp + fsync + rename + directory fsync",
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        _files = TaskFiles.Create(context.Directory, context.Documents);
        Posix.SyncDirectory(_files.Directory);
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        string temp = _files!.TempPaths[key];
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            stream.Write(_documents!.Utf8[document]);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _files.Paths[key], overwrite: true);
        Posix.SyncDirectory(_files.Directory);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
