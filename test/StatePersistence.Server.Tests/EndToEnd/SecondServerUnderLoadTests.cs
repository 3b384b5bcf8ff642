using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// A second server started on a directory a running server holds, while that one writes (temp files appear and
/// vanish, checkpoints replace files): every start must be the one-line "in use by process N" refusal, exit 2, and
/// must change nothing in the directory it does not hold, not even a mode.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SecondServerUnderLoadTests : IDisposable
{
    private const int SecondStarts = 10;
    private const UnixFileMode Loose = (UnixFileMode)0x1ED; // 0755: what the second server's permission pass would tighten
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task EverySecondStart_ExitsWith2NamingTheHolder_AndTouchesNothing()
    {
        // Checkpoints every 100 ms, so that temp files and replaced files come and go during every second start.
        await using ServerProcess first = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", StatePath, "--StatePersistence:AutosaveInterval", "00:00:00.100"]);
        // Loose modes the running server never changes itself: only a second process could tighten them.
        File.SetUnixFileMode(StatePath, Loose);
        File.SetUnixFileMode(Path.Combine(StatePath, "reports"), Loose);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int written = 0;
        Task[] writers = [.. Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                await WriteAsync(first.Client, w, i, stop.Token);
                Interlocked.Increment(ref written);
            }
        }))];

        try
        {
            for (int start = 1; start <= SecondStarts; start++)
            {
                int writtenBefore = Volatile.Read(ref written);
                int port = ServerProcess.FreePort();
                await using ServerProcess second = ServerProcess.Launch(port, ["--urls", $"http://127.0.0.1:{port}", "--state-path", StatePath]);

                int exitCode = await second.WaitForExitAsync();

                string output = second.Output;
                Assert.True(exitCode == 2, $"start {start}: exit code {exitCode}:\n{output}");
                Assert.StartsWith($"statepersistence-server: The state directory '{StatePath}' is in use by process {first.Id} ", output, StringComparison.Ordinal);
                Assert.Single(output.Trim().Split('\n'));
                Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
                Assert.Equal(Loose, File.GetUnixFileMode(StatePath));
                Assert.Equal(Loose, File.GetUnixFileMode(Path.Combine(StatePath, "reports")));
                Assert.True(Volatile.Read(ref written) > writtenBefore, $"start {start}: no write was acknowledged while the second server started");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers.Select(w => w.ContinueWith(static _ => { }, TaskScheduler.Default)));
        }

        await Task.WhenAll(writers);
        Assert.Equal(HttpStatusCode.OK, (await first.Client.GetUrlAsync("/health")).StatusCode);
    }

    /// <summary>One round of the load: a task replaced and patched, a report replaced (each a temp file and a rename).</summary>
    private static async Task WriteAsync(HttpClient client, int writer, int round, CancellationToken cancellationToken)
    {
        string task = $"/api/tasks/load_{writer}_{round % 50}";
        try
        {
            await Expect(client.PutAsync(task, Json($$"""{"description":"round {{round}}"}"""), cancellationToken), HttpStatusCode.OK, HttpStatusCode.Created);
            await Expect(client.PatchAsync(task, Json("""{"status":"in_progress"}"""), cancellationToken), HttpStatusCode.OK);
            await Expect(client.PostAsync("/api/reports", Json($$$"""{"id":"report_{{{writer}}}_{{{round % 20}}}","type":"load","data":{"round":{{{round}}}}}"""), cancellationToken),
                HttpStatusCode.Created);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The test is over.
        }
    }

    private static async Task Expect(Task<HttpResponseMessage> request, params HttpStatusCode[] expected)
    {
        using HttpResponseMessage response = await request;
        Assert.True(expected.Contains(response.StatusCode), $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode}");
    }
}
