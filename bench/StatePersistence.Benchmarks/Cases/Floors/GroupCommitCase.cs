using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>
/// The group-commit floor: <c>N</c> writers append framed ~1 KB records to one log through
/// <see cref="GroupCommitLog"/>, sharing each fsync.
/// </summary>
internal sealed class GroupCommitCase : IBenchCase
{
    private GroupCommitLog? _log;
    private TaskDocuments? _documents;
    private byte[][] _frames = [];
    private BenchContext? _context;

    public GroupCommitCase(int writers)
    {
        Info = new BenchCaseInfo(CaseNames.WithWriters("group-commit", writers), CaseGroup.Floors, writers)
        {
            Durability = "full",
            Note = "leader/follower: one write + one fsync per batch",
        };
    }

    public BenchCaseInfo Info { get; }

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _documents = context.Documents;
        _frames = new byte[Info.Writers][];
        for (int w = 0; w < _frames.Length; w++)
        {
            _frames[w] = new byte[64 * 1024];
        }

        _log = new GroupCommitLog(Path.Combine(context.Directory, "journal.log"));
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        byte[] frame = _frames[writer];
        int length = RecordFraming.Write(_documents!.Utf8[TaskDocuments.Pick(writer, Info.Writers, sequence).Document], frame);
        return new ValueTask(_log!.AppendAsync(frame.AsSpan(0, length)));
    }

    public ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        _log!.Verify();
        double perBatch = _log.Batches > 0 ? (double)_log.Records / _log.Batches : 0;
        _context!.RunNote = $"{perBatch:F1} records per fsync";
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _log?.Dispose();
        return ValueTask.CompletedTask;
    }
}
