using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Http;

/// <summary>
/// A task save over HTTP: <c>PUT /api/tasks/{id}</c> of the same ~1 KB documents the library cases save, against the
/// real server process over loopback, one keep-alive connection per writer. Full durability: the server answers
/// once the save's journal record is fsynced.
/// </summary>
internal sealed class HttpSaveCase(string name, int writers) : IBenchCase
{
    private ServerHost? _server;
    private TaskDocuments? _documents;

    public BenchCaseInfo Info { get; } = new(name, CaseGroup.StatePersistence, writers)
    {
        Durability = "full",
        Note = $"PUT /api/tasks/{{id}} to the state server process, {writers} keep-alive connection(s)",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        _server = await ServerHost.StartAsync(Path.Combine(context.Directory, "state"), writers, cancellationToken);
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, int document) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        await _server!.PutTaskAsync(_documents!, key, document, cancellationToken);
    }

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default) =>
        await _server!.RequireTaskAsync(_documents!.Ids[0], cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
