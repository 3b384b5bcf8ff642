using System.Net;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Http;

/// <summary>
/// A read over HTTP against the real server process: <c>GET /api/tasks/{id}</c> of a stored ~1 KB task, or, as the
/// loopback round-trip floor, <c>GET /health</c> (no key, so the status alone, cached by the server).
/// </summary>
internal sealed class HttpGetCase(string name, int writers, bool healthOnly) : IBenchCase
{
    private ServerHost? _server;
    private TaskDocuments? _documents;

    public BenchCaseInfo Info { get; } = new(name, CaseGroup.StatePersistence, writers)
    {
        Note = healthOnly ? "GET /health: one loopback HTTP round trip through the server's pipeline"
            : $"GET /api/tasks/{{id}} from the state server process, {writers} keep-alive connection(s)",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _documents = context.Documents;
        _server = await ServerHost.StartAsync(Path.Combine(context.Directory, "state"), writers, cancellationToken);
        if (!healthOnly)
        {
            for (int key = 0; key < TaskDocuments.KeySpace; key++)
            {
                using var content = new ByteArrayContent(_documents.Utf8[key]);
                content.Headers.ContentType = new("application/json");
                using HttpResponseMessage put = await _server.Client.PutAsync(new Uri("/api/tasks/" + _documents.Ids[key], UriKind.Relative), content, cancellationToken);
                put.EnsureSuccessStatusCode();
            }
        }
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        (int key, _) = TaskDocuments.Pick(writer, Info.Writers, sequence);
        string path = healthOnly ? "/health" : "/api/tasks/" + _documents!.Ids[key];
        using HttpResponseMessage response = await _server!.Client.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidDataException($"GET {path} answered {(int)response.StatusCode}.");
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
