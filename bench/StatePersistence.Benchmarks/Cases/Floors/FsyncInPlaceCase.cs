using Microsoft.Win32.SafeHandles;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Native;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// The floor under any durable save: overwrite ~1 KB at offset 0 of a file whose blocks are already allocated,
/// then fsync. Nothing durable on this disk is cheaper.
/// </summary>
internal sealed class FsyncInPlaceCase : IBenchCase
{
    private SafeFileHandle? _file;
    private TaskDocuments? _documents;

    public BenchCaseInfo Info { get; } = new(CaseNames.FsyncInPlace, CaseGroup.Floors) { Durability = "full" };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        string path = Path.Combine(context.Directory, "inplace.bin");
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
        RandomAccess.Write(_file, new byte[4096], 0);
        Posix.Fsync(_file);
        Posix.SyncDirectory(context.Directory);
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        RandomAccess.Write(_file!, _documents!.Utf8[TaskDocuments.Pick(writer, 1, sequence).Document], 0);
        Posix.Fsync(_file!);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _file?.Dispose();
        return ValueTask.CompletedTask;
    }
}
