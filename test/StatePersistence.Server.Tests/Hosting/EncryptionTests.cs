using System.Net;
using System.Net.Http.Json;
using System.Text;
using StatePersistence.Encryption;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// The server with encryption at rest, as a real process: the key file from <c>--encryption-key-file</c> or
/// <c>STATE_ENCRYPTION_KEY_FILE</c>; nothing it stores is readable on disk; a key file it cannot use, or a directory
/// sealed with a key the file lacks, stops the start with exit code 2 and one line naming the problem.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EncryptionTests : IDisposable
{
    private const string Marker = "OCELOT-server-secret-4b1d";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string State => _directory.Combine("state");

    [Theory]
    [InlineData("switch")]
    [InlineData("variable")]
    public async Task KeyFileFromSwitchOrVariable_StoresNothingInTheClear_AndReadsItBackAfterARestart(string source)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(keyFile);
        string[] args = source == "switch" ? ["--state-path", State, "--encryption-key-file", keyFile] : ["--state-path", State];
        Dictionary<string, string> env = source == "switch" ? [] : new() { ["STATE_ENCRYPTION_KEY_FILE"] = keyFile };

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), args, env))
        {
            using HttpResponseMessage created = await server.Client.PostAsync("/api/tasks",
                new StringContent($$"""{"id":"t1","description":"{{Marker}} task"}""", Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            using HttpResponseMessage log = await server.Client.PostAsync("/api/tasks/t1/logs",
                new StringContent($$"""{"level":"info","type":"output","message":"{{Marker}} log"}""", Encoding.UTF8, "application/json"), ct);
            Assert.True(log.IsSuccessStatusCode, await log.Content.ReadAsStringAsync(ct));
            Assert.Equal(0, await server.TerminateAsync());
        }

        foreach (string file in Directory.GetFiles(State, "*", SearchOption.AllDirectories))
        {
            Assert.False(File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.UTF8.GetBytes(Marker)) >= 0, $"'{file}' holds the marker in the clear");
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), args, env))
        {
            string task = await server.Client.GetStringAsync("/api/tasks/t1", ct);
            Assert.Contains(Marker + " task", task, StringComparison.Ordinal);
            Assert.Contains(Marker + " log", task, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DirectorySealedWithAKeyTheFileLacks_ExitsWith2_NamingTheKeyId_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _directory.Combine("keys.json");
        string keyId = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", keyFile]))
        {
            using HttpResponseMessage created = await server.Client.PostAsync("/api/tasks",
                new StringContent("""{"id":"t1","description":"d"}""", Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        Dictionary<string, byte[]> before = Files();
        string otherKeyFile = _directory.Combine("other.json");
        EncryptionKeyFile.Create(otherKeyFile);

        await using ServerProcess refused = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", otherKeyFile]);

        Assert.Equal(2, await refused.WaitForExitAsync());
        Assert.Contains($"'{keyId}'", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Output, StringComparison.Ordinal);
        Dictionary<string, byte[]> after = Files();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, e => Assert.True(e.Value.AsSpan().SequenceEqual(after[e.Key]), $"'{e.Key}' changed"));
    }

    /// <summary>Started without any key: the refusal said to "configure the codec", which a server operator does with an option it did not name.</summary>
    [Fact]
    public async Task AnEncryptedDirectory_StartedWithoutAKey_ExitsWith2_NamingTheOptionThatGivesIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(keyFile);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", keyFile]))
        {
            using HttpResponseMessage created = await server.Client.PostAsync("/api/tasks",
                new StringContent("""{"id":"t1","description":"d"}""", Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        await using ServerProcess refused = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", State]);

        Assert.Equal(2, await refused.WaitForExitAsync());
        Assert.Contains("start it with --encryption-key-file FILE (or STATE_ENCRYPTION_KEY_FILE)", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyOfTheRightIdButOtherMaterial_ExitsWith2_SayingTheMaterialDiffers_AndChangesNothing()
    {
        // The audit's case: STATE_ENCRYPTION_KEY=<id>:<other bytes> on the wrong host (or a typo in the base64). The
        // payloads' checksums hold and only their tags fail: quarantining them all would start empty and lose everything.
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _directory.Combine("keys.json");
        string keyId = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", keyFile]))
        {
            foreach (string id in (string[])["t1", "t2", "t3"])
            {
                using HttpResponseMessage created = await server.Client.PostAsync("/api/tasks",
                    new StringContent($$"""{"id":"{{id}}","description":"d"}""", Encoding.UTF8, "application/json"), ct);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            Assert.Equal(0, await server.TerminateAsync());
        }

        Assert.True(File.Exists(Path.Combine(State, "tasks", "t1.json")));
        Dictionary<string, byte[]> before = Files();
        string otherMaterial = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        await using ServerProcess refused = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", State],
            new Dictionary<string, string> { ["STATE_ENCRYPTION_KEY"] = $"{keyId}:{otherMaterial}" });

        Assert.Equal(2, await refused.WaitForExitAsync());
        Assert.Contains($"'{keyId}'", refused.Output, StringComparison.Ordinal);
        Assert.Contains("differs from the key that sealed it", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("No saved state was found", refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(otherMaterial, refused.Output, StringComparison.Ordinal);
        Dictionary<string, byte[]> after = Files();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, e => Assert.True(e.Value.AsSpan().SequenceEqual(after[e.Key]), $"'{e.Key}' changed"));

        // With the right key everything is there.
        await using ServerProcess again = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", keyFile]);
        Assert.Contains("\"t3\"", await again.Client.GetStringAsync("/api/tasks/t3", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyFileReadableByOthers_ExitsWith2_NamingTheFile_WithoutItsContent()
    {
        string keyFile = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(keyFile);
        string content = await File.ReadAllTextAsync(keyFile, TestContext.Current.CancellationToken);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), ["--state-path", State, "--encryption-key-file", keyFile]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains(keyFile, server.Output, StringComparison.Ordinal);
        Assert.Contains("0604", server.Output, StringComparison.Ordinal);
        string material = content.Split("\"material\": \"")[1].Split('"')[0];
        Assert.DoesNotContain(material, server.Output, StringComparison.Ordinal);
    }

    private Dictionary<string, byte[]> Files() =>
        Directory.GetFiles(State, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);
}
