using System.Net;
using System.Net.Http.Headers;
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
    private static readonly MediaTypeHeaderValue Json = new("application/json");
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
        using var content = new ByteArrayContent(_documents!.Utf8[document]);
        content.Headers.ContentType = Json;
        using HttpResponseMessage response = await _server!.Client.PutAsync(new Uri("/api/tasks/" + _documents.Ids[key], UriKind.Relative), content, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Created))
        {
            throw new InvalidDataException($"PUT answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        using HttpResponseMessage response = await _server!.Client.GetAsync(new Uri("/api/tasks/" + _documents!.Ids[0], UriKind.Relative), cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidDataException($"GET of a saved task answered {(int)response.StatusCode}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
