using System.Collections.Concurrent;
using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>
/// A write load on a real server: writers that create tasks, patch them and append to their logs, and a loop that
/// forces checkpoints (<c>POST /api/state/save</c>) so item files, <c>state.json</c> and journal segments are
/// replaced while a reader reads. Every acknowledged write's revision is recorded, per task.
/// <para>Each writer creates <see cref="TasksPerWriter"/> tasks, then goes on patching them (their status), and the checkpoints come <see cref="CheckpointPause"/> apart: a read beside a server starts again when a
/// checkpoint changes the files under it and gives up, saying so, after about 3 s of that (as documented), so a state
/// that grew without end under back-to-back checkpoints would starve every read once a loaded machine read it slower
/// than the next checkpoint came (seen once in CI: "no consistent read ... in 20 attempts"). The reads still overlap
/// checkpoints, and start again, many times a run.</para>
/// </summary>
public sealed class WriteLoad : IAsyncDisposable
{
    /// <summary>How many tasks each writer creates before it only updates them.</summary>
    public const int TasksPerWriter = 100;

    /// <summary>The wait between two forced checkpoints.</summary>
    public static readonly TimeSpan CheckpointPause = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly List<Task> _loops = [];
    private int _checkpoints;

    private WriteLoad(ServerProcess server, int writers)
    {
        for (int w = 0; w < writers; w++)
        {
            int writer = w;
            _loops.Add(Task.Run(() => WriteAsync(server, writer)));
        }

        _loops.Add(Task.Run(() => CheckpointAsync(server)));
    }

    /// <summary>Checkpoints that wrote a snapshot so far.</summary>
    public int Checkpoints => Volatile.Read(ref _checkpoints);

    /// <summary>Tasks with an acknowledged write so far.</summary>
    public int Writes => _acknowledged.Count;

    public static WriteLoad Start(ServerProcess server, int writers = 3) => new(server, writers);

    /// <summary>A copy of what was acknowledged so far: each task's highest acknowledged revision.</summary>
    public IReadOnlyDictionary<string, long> Acknowledged() => new Dictionary<string, long>(_acknowledged, StringComparer.Ordinal);

    /// <summary>Waits until the load has made at least that many writes and checkpoints (it fails if a loop failed).</summary>
    public async Task WaitForAsync(int writes, int checkpoints)
    {
        while (Writes < writes || Checkpoints < checkpoints)
        {
            if (_loops.FirstOrDefault(l => l.IsFaulted) is { } failed)
            {
                await failed;
            }

            await Task.Delay(20, _stop.Token);
        }
    }

    private async Task WriteAsync(ServerProcess server, int writer)
    {
        for (int i = 0; !_stop.IsCancellationRequested; i++)
        {
            string id = $"w{writer}_{i % TasksPerWriter}";
            if (i < TasksPerWriter)
            {
                using HttpResponseMessage created = await server.Client.PostAsync("/api/tasks",
                    Http.Json($$"""{"id":"{{id}}","description":"load {{i}}","tool":"shell"}"""), _stop.Token);
                Record(id, await created.ExpectAsync(HttpStatusCode.Created));

                // Once per task: the task's log entries are part of its JSON, so more would grow the state without end.
                using HttpResponseMessage log = await server.Client.PostAsync($"/api/tasks/{id}/logs",
                    Http.Json("""{"level":"info","type":"progress","message":"working"}"""), _stop.Token);
                await log.ExpectAsync(HttpStatusCode.Created);
            }

            using HttpResponseMessage patched = await server.Client.PatchAsync($"/api/tasks/{id}",
                Http.Json(i % 3 == 0 ? """{"status":"completed"}""" : """{"status":"in_progress"}"""), _stop.Token);
            Record(id, await patched.ExpectAsync(HttpStatusCode.OK));
        }
    }

    private async Task CheckpointAsync(ServerProcess server)
    {
        while (!_stop.IsCancellationRequested)
        {
            using HttpResponseMessage saved = await server.Client.PostAsync("/api/state/save", null, _stop.Token);
            if ((await saved.ExpectAsync(HttpStatusCode.OK)).GetProperty("saved").GetBoolean())
            {
                Interlocked.Increment(ref _checkpoints);
            }

            await Task.Delay(CheckpointPause, _stop.Token);
        }
    }

    private void Record(string id, System.Text.Json.JsonElement task) =>
        _acknowledged.AddOrUpdate(id, task.GetProperty("revision").GetInt64(), (_, old) => Math.Max(old, task.GetProperty("revision").GetInt64()));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (Task loop in _loops)
        {
            try
            {
                await loop;
            }
            catch (Exception ex) when (ex is OperationCanceledException || (ex is HttpRequestException && _stop.IsCancellationRequested))
            {
                // Stopped on purpose.
            }
        }

        _stop.Dispose();
    }
}
