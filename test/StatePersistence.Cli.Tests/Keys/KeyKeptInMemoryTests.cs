using System.Net;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// The running server's second line of defence against a key file written back from an older copy of the ring (the
/// audit: a removal wrote the ring it had read over a rotation's new key, which the server was already sealing with):
/// the server keeps the key in memory, keeps reading what it sealed, says so (Error log, health, metric) and rewrites
/// it under the file's active key, after which a restart with the file opens everything. Real server, real statectl.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyKeptInMemoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Fact]
    public async Task AKeyFileWrittenBackWithoutTheActiveKey_TheServerKeepsTheKey_ReadsWhatItSealed_AndRewritesIt()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        byte[] olderRing = File.ReadAllBytes(KeyFile);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", StatePath, "--encryption-key-file", KeyFile, "--StatePersistence:Server:HealthDetailsWithoutKey=true"]))
        {
            StatectlRun rotated = await KeysAsync("rotate", "--json");
            Assert.True(rotated.ExitCode == 0, rotated.ToString());
            string newKey = rotated.Json().GetProperty("keyId").GetString()!;
            string report = Path.Combine(StatePath, "reports", "report_r1.json");
            await WriteUntilSealedWithAsync(server, newKey, report);

            // What the removal of the audit did: the ring it had read, without the key the server now seals with.
            File.WriteAllBytes(KeyFile, olderRing);
            await UntilHealthSaysAsync(server, $"no longer holds the key '{newKey}'");

            using HttpResponseMessage read = await server.Client.GetAsync("/api/reports/r1", Http.Ct);
            Assert.True(read.StatusCode == HttpStatusCode.OK, $"{read.StatusCode}: {await read.Content.ReadAsStringAsync(Http.Ct)}\n{server.Output}");
            Assert.Contains("sealed-with-the-new-key", await read.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
            using HttpResponseMessage health = await server.Client.GetAsync("/health", Http.Ct);
            System.Text.Json.JsonElement healthBody = await health.JsonAsync();
            Assert.Equal("Degraded", healthBody.GetProperty("status").GetString());
            Assert.Contains($"no longer holds the key '{newKey}'", healthBody.GetProperty("checks").GetProperty("state_persistence").GetProperty("description").GetString(), StringComparison.Ordinal);
            using HttpResponseMessage metrics = await server.Client.GetAsync("/metrics", Http.Ct);
            Assert.Contains($"statepersistence_encryption_keys_kept_total{{key_id=\"{newKey}\"}} 1", await metrics.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
            Assert.Contains($"the key file {KeyFile} no longer holds the key {newKey}", server.Output, StringComparison.Ordinal);

            // The re-encryption rewrites what the kept key sealed under the file's active key: polled, bounded.
            bool rewritten = false;
            for (int attempt = 0; attempt < 120 && !rewritten; attempt++)
            {
                await Task.Delay(500, Http.Ct);
                StatectlRun listed = await KeysAsync("list", "--json");
                rewritten = listed.ExitCode == 0 && !listed.Output.Contains(newKey, StringComparison.Ordinal);
            }

            Assert.True(rewritten, (await KeysAsync("list")).ToString() + server.Output);
            Assert.Equal(0, await server.TerminateAsync());
        }

        // Nothing is sealed with the lost key any more: the file as it is opens everything.
        Assert.Equal(0, (await KeysAsync("verify")).ExitCode);
        await using ServerProcess restarted = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath, "--encryption-key-file", KeyFile]);
        using HttpResponseMessage again = await restarted.Client.GetAsync("/api/reports/r1", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using HttpResponseMessage task = await restarted.Client.GetAsync("/api/tasks/task_1", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, task.StatusCode);
        Assert.Equal(0, await restarted.TerminateAsync());
    }

    /// <summary>
    /// Waits (bounded) until the server's <c>/health</c> says <paramref name="text"/>: it has reloaded the key file, and
    /// the health result it caches for up to 2 s has been computed since.
    /// </summary>
    private static async Task UntilHealthSaysAsync(ServerProcess server, string text)
    {
        // Up to 60 s: a real process reloading its key file on a loaded 2-core machine; the assertions after the wait
        // say what was not seen.
        for (int attempt = 0; attempt < 600; attempt++)
        {
            using HttpResponseMessage health = await server.Client.GetAsync("/health", Http.Ct);
            if ((await health.Content.ReadAsStringAsync(Http.Ct)).Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100, Http.Ct);
        }
    }

    /// <summary>
    /// Writes a task and the report <c>r1</c> (again) until the report's file names <paramref name="keyId"/>: the server
    /// takes up a rotated key within a second. Bounded by 60 s, for a loaded 2-core machine.
    /// </summary>
    private static async Task WriteUntilSealedWithAsync(ServerProcess server, string keyId, string report)
    {
        using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"a task","tool":"shell"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        for (int attempt = 0; attempt < 300; attempt++)
        {
            using HttpResponseMessage saved = await server.Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{"text":"sealed-with-the-new-key"}}""");
            Assert.True(saved.IsSuccessStatusCode, saved.ToString());
            if (File.ReadAllText(report).Contains(keyId, StringComparison.Ordinal))
            {
                using HttpResponseMessage checkpoint = await server.Client.PostAsync("/api/state/save", null, Http.Ct);
                Assert.True(checkpoint.IsSuccessStatusCode, checkpoint.ToString());
                return;
            }

            await Task.Delay(200, Http.Ct);
        }

        Assert.Fail($"the server did not seal with {keyId}:\n{server.Output}");
    }
}
