using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Peers;

/// <summary>
/// What the original server did: <see cref="File.WriteAllText(string, string)"/> over the task's file, in place,
/// no fsync. Not durable (a crash mid-write leaves a truncated file); the speed it is compared against.
/// </summary>
internal sealed class WriteAllTextCase : IBenchCase
{
    private TaskFiles? _files;
    private TaskDocuments? _documents;

    public BenchCaseInfo Info { get; } = new(CaseNames.WithWriters("writealltext-nofsync", 1), CaseGroup.Peers)
    {
        Durability = "none",
        Note = "in place, no fsync: not crash-safe",
    };

    public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        _files = TaskFiles.Create(context.Directory, context.Documents);
        return ValueTask.CompletedTask;
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        File.WriteAllText(_files!.Paths[key], _documents!.Json[document]);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
