using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// A command-line argument no part of the server reads stops the start (exit 2) naming it. It was ignored: the server
/// started on another state directory than the one named (<c>--state-dir</c> for <c>--state-path</c>, a bare path, an
/// unmapped <c>-s</c>, <c>--state-path</c> left without its value), or without the encryption asked for
/// (<c>--STATE_ENCRYPTION_KEY_FILE</c>, a variable, not an option), and said nothing.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnknownSwitchesTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--state-dir NAMED", "--state-dir is not an option of this server")]
    [InlineData("--STATE_ENCRYPTION_KEY_FILE NAMED", "--STATE_ENCRYPTION_KEY_FILE is not an option of this server")]
    [InlineData("--statepath=NAMED", "--statepath is not an option of this server")]
    [InlineData("-s NAMED", "-s is not an option of this server")]
    [InlineData("NAMED", "/named is not an option of this server")]
    [InlineData("state", "'state' is not an option of this server (an option starts with --)")]
    [InlineData("--state-path", "--state-path has no value")]
    public async Task AnArgumentNothingReads_StopsTheStart_NamingIt_AndNothingIsCreated(string arguments, string refusal)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string named = _directory.Combine("named");
        string fallback = _directory.Combine("fallback");
        int port = ServerProcess.FreePort();
        string[] given = arguments.Replace("NAMED", named, StringComparison.Ordinal).Split(' ');
        await using ServerProcess server = ServerProcess.Launch(port, ["--urls", $"http://127.0.0.1:{port}", .. given],
            new Dictionary<string, string> { ["STATE_PATH"] = fallback });

        // Poll until it exits, or until it answers, which means the argument was ignored and it started elsewhere.
        while (!server.HasExited)
        {
            try
            {
                using HttpResponseMessage health = await server.Client.GetAsync("/health", ct);
                Assert.Fail($"The server started with '{arguments}' ignored (state in '{fallback}': {Directory.Exists(fallback)}):\n{server.Output}");
            }
            catch (HttpRequestException)
            {
                // Not listening (yet).
            }

            await Task.Delay(50, ct);
        }

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains(refusal, server.Output, StringComparison.Ordinal);
        Assert.Contains("so it would be ignored", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(fallback));
        Assert.False(Directory.Exists(named));
    }

    [Fact]
    public async Task TheDocumentedOptions_StillStartTheServer()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string state = _directory.Combine("state");
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", state, "--store", "file", "--environment", "Production", "--AllowedHosts", "localhost",
             "--Logging:LogLevel:Default", "Warning", "--StatePersistence:MaxBackups", "5"]);

        using HttpResponseMessage health = await server.Client.GetAsync("/health", ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(Directory.Exists(state));
    }
}
