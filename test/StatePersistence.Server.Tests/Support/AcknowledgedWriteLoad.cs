using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// Concurrent writers creating tasks on several server instances while the database under them fails: each writer
/// PUTs <c>&lt;prefix&gt;-w&lt;k&gt;-&lt;n&gt;</c> with a description naming it and keeps what was acknowledged
/// (201/200 with its revision); a 503 (database unreachable) is retried with the same id and body after a short pause,
/// as a client would, and remembered as refused until acknowledged. Any other answer stops the load and fails the test.
/// </summary>
public sealed class AcknowledgedWriteLoad : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refused = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _writers;
    private string? _failure;

    public AcknowledgedWriteLoad(string prefix, IReadOnlyList<ServerProcess> instances, int writersPerInstance)
    {
        _writers = [.. Enumerable.Range(0, instances.Count * writersPerInstance)
            .Select(k => Task.Run(() => WriteAsync(instances[k % instances.Count], $"{prefix}-w{k}")))];
    }

    /// <summary>Every id acknowledged, with the revision the acknowledgement carried.</summary>
    public IReadOnlyDictionary<string, long> Acknowledged => _acknowledged;

    /// <summary>Ids that got a 503 and were never acknowledged afterwards (their outcome is the client's to check).</summary>
    public IEnumerable<string> RefusedOnly => _refused.Keys.Where(id => !_acknowledged.ContainsKey(id));

    /// <summary>How many 503s the writers saw.</summary>
    public int Refusals => _refused.Count;

    /// <summary>The description every write of <paramref name="id"/> carries: what a stored task must hold whole.</summary>
    public static string DescriptionOf(string id) => "written by the load as " + id;

    /// <summary>Waits (bounded) until at least <paramref name="count"/> writes were acknowledged in all.</summary>
    public async Task WaitForAcknowledgedAsync(int count, TimeSpan bound, Func<string> diagnostics)
    {
        DateTime deadline = DateTime.UtcNow + bound;
        while (_acknowledged.Count < count)
        {
            Assert.Null(_failure);
            Assert.True(DateTime.UtcNow < deadline, $"Only {_acknowledged.Count} of {count} writes acknowledged within {bound}:\n{diagnostics()}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
        Assert.Null(_failure);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers);
        _stop.Dispose();
    }

    private async Task WriteAsync(ServerProcess instance, string writer)
    {
        for (int n = 0; !_stop.IsCancellationRequested; n++)
        {
            string id = $"{writer}-{n}";
            string body = JsonSerializer.Serialize(new Dictionary<string, string> { ["description"] = DescriptionOf(id) });
            while (!_stop.IsCancellationRequested)
            {
                HttpStatusCode status;
                string text;
                try
                {
                    using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                    using HttpResponseMessage answer = await instance.Client.PutAsync($"/api/tasks/{id}", content, _stop.Token);
                    status = answer.StatusCode;
                    text = await answer.Content.ReadAsStringAsync(_stop.Token);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                if (status is HttpStatusCode.Created or HttpStatusCode.OK)
                {
                    using JsonDocument stored = JsonDocument.Parse(text);
                    _acknowledged[id] = stored.RootElement.GetProperty("revision").GetInt64();
                    break;
                }

                if (status != HttpStatusCode.ServiceUnavailable)
                {
                    _failure = $"PUT {id} on port {instance.Port} answered {(int)status}: {text}";
                    await _stop.CancelAsync();
                    return;
                }

                _refused[id] = 0;
                try
                {
                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
