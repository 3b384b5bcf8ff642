using Microsoft.Win32.SafeHandles;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Native;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// The floor of a journal with one writer: append one framed record (length, CRC-32, ~1 KB task JSON) to the end
/// of a log file and fsync it, one record per fsync. The file grows, so each fsync also persists its new size.
/// </summary>
internal sealed class AppendFsyncCase : IBenchCase
{
    private readonly byte[] _frame = new byte[64 * 1024];
    private SafeFileHandle? _file;
    private TaskDocuments? _documents;
    private long _length;

    public BenchCaseInfo Info { get; } = new(CaseNames.AppendFsync1, CaseGroup.Floors)
    {
        Durability = "full",
        Note = "one record per fsync",
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        _file = File.OpenHandle(Path.Combine(context.Directory, "journal.log"), FileMode.CreateNew, FileAccess.Write);
        Posix.SyncDirectory(context.Directory);
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        int length = RecordFraming.Write(_documents!.Utf8[TaskDocuments.Pick(writer, 1, sequence).Document], _frame);
        RandomAccess.Write(_file!, _frame.AsSpan(0, length), _length);
        Posix.Fsync(_file!);
        _length += length;
        return ValueTask.CompletedTask;
    }

    public ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        long actual = RandomAccess.GetLength(_file!);
        return actual == _length
            ? ValueTask.CompletedTask
            : throw new InvalidOperationException($"Log is {actual} bytes, expected {_length}.");
    }

    public ValueTask DisposeAsync()
    {
        _file?.Dispose();
        return ValueTask.CompletedTask;
    }
}
