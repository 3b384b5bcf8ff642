using System.Net;
using System.Text;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// The whole rotation an operator runs (issue 15 item 2): <c>statectl keys rotate</c> beside the running server, the
/// server's background re-encryption, <c>keys list</c> down to 0 payloads under the old key, then
/// <c>keys retire OLD --remove</c>. Real server process, real statectl process, real files.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysReencryptionTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    private async Task<long> PayloadsUnderAsync(string keyId)
    {
        StatectlRun listed = await KeysAsync("list", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        return listed.Json().GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == keyId).GetProperty("payloads").GetInt64();
    }

    [Fact]
    public async Task Rotate_BackgroundReencryption_ListShowsZero_ThenRetireRemoveWorks()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--state-path", StatePath, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string oldKey = created.Json().GetProperty("keyId").GetString()!;
        string material = File.ReadAllText(KeyFile).Split("\"material\": \"")[1].Split('"')[0];

        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", StatePath, "--encryption-key-file", KeyFile]);
        await SeedAsync(server);
        using HttpResponseMessage report = await server.Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{"ok":true}}""");
        Assert.Equal(HttpStatusCode.Created, report.StatusCode);
        using HttpResponseMessage saved = await server.Client.PostAsync("/api/state/save", null, Http.Ct);
        Assert.True(saved.IsSuccessStatusCode, saved.ToString());
        Assert.True(await PayloadsUnderAsync(oldKey) > 0);

        StatectlRun rotated = await KeysAsync("rotate", "--json");
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        string newKey = rotated.Json().GetProperty("keyId").GetString()!;

        // The server notices the new key within a second and re-encrypts in the background: polled, bounded.
        long left = await PayloadsLeftUnderAsync(oldKey);

        Assert.True(left == 0, $"payloads still under the old key: {left}\n{server.Output}");
        List<string> naming = [.. Directory.EnumerateFiles(StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(Encoding.ASCII.GetBytes(oldKey)) >= 0)];
        Assert.True(naming.Count == 0, "files still naming the old key: " + string.Join(", ", naming));

        StatectlRun removed = await KeysAsync("retire", oldKey, "--remove");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain(oldKey, File.ReadAllText(KeyFile), StringComparison.Ordinal);

        using HttpResponseMessage read = await server.Client.GetAsync("/api/tasks/task_3", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Contains($"Re-encryption of {StatePath}", server.Output, StringComparison.Ordinal);
        Assert.Contains($"with the active key {newKey}", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(material, server.Output, StringComparison.Ordinal);

        StatectlRun verified = await KeysAsync("verify", "--json");
        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    [Fact]
    public async Task Disable_BesideTheRunningServer_RewritesEverythingInTheClear_ThenTheServerStartsWithoutAKeyFile()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--state-path", StatePath, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string key = created.Json().GetProperty("keyId").GetString()!;

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", StatePath, "--encryption-key-file", KeyFile]))
        {
            await SeedAsync(server);
            using HttpResponseMessage saved = await server.Client.PostAsync("/api/state/save", null, Http.Ct);
            Assert.True(saved.IsSuccessStatusCode, saved.ToString());
            Assert.True(await PayloadsUnderAsync(key) > 0);

            StatectlRun disabled = await KeysAsync("disable", "--json");
            Assert.True(disabled.ExitCode == 0, disabled.ToString());
            Assert.Equal(key, disabled.Json().GetProperty("keyId").GetString());
            Assert.Equal(1, (await KeysAsync("disable")).ExitCode);

            // The server notices within a second and rewrites every sealed payload in the clear: polled, bounded.
            long left = await PayloadsLeftUnderAsync(key);

            Assert.True(left == 0, $"payloads still sealed: {left}\n{server.Output}");
            using HttpResponseMessage later = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_6","description":"written in the clear","tool":"shell"}""");
            Assert.Equal(HttpStatusCode.Created, later.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
            Assert.Contains("is now retired", server.Output, StringComparison.Ordinal);
            Assert.Contains("no key is active, and every payload is stored in the clear", server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("active key none", server.Output, StringComparison.Ordinal);
        }

        // Nothing is sealed: the key file goes, and the server starts without one, everything there.
        File.Delete(KeyFile);
        await using ServerProcess clear = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        using HttpResponseMessage read = await clear.Client.GetAsync("/api/tasks/task_3", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Contains("task number 3", await read.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
        using HttpResponseMessage sixth = await clear.Client.GetAsync("/api/tasks/task_6", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, sixth.StatusCode);
        using HttpResponseMessage logRead = await clear.Client.GetAsync("/api/sessions/s1/log", Http.Ct);
        Assert.Contains("npm test passed", await logRead.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
        Assert.Equal(0, await clear.TerminateAsync());
    }

    /// <summary>Five tasks, a session and a line of its log, through the running server.</summary>
    private static async Task SeedAsync(ServerProcess server)
    {
        for (int i = 1; i <= 5; i++)
        {
            using HttpResponseMessage task = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"task number {{i}}","tool":"shell"}""");
            Assert.Equal(HttpStatusCode.Created, task.StatusCode);
        }

        using HttpResponseMessage session = await server.Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"chat","status":"active"}""");
        Assert.Equal(HttpStatusCode.Created, session.StatusCode);
        using HttpResponseMessage log = await server.Client.PostAsync("/api/sessions/s1/log", Http.Text("npm test passed\n"), Http.Ct);
        Assert.Equal(HttpStatusCode.NoContent, log.StatusCode);
    }

    /// <summary>
    /// The payloads still under <paramref name="keyId"/>, polled (bounded) until none is left: the running server's
    /// background re-encryption, a real process, is what empties it, so no fake clock can drive it.
    /// </summary>
    private async Task<long> PayloadsLeftUnderAsync(string keyId)
    {
        long left = -1;
        for (int attempt = 0; attempt < 240 && left != 0; attempt++)
        {
            await Task.Delay(500, Http.Ct);
            left = await PayloadsUnderAsync(keyId);
        }

        return left;
    }
}
