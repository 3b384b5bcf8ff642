using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// A command-line option no part of the server reads stops the start (exit 2) naming it. It was ignored: the server
/// started on another state directory than the one named (<c>--state-dir</c> for <c>--state-path</c>), or without the
/// encryption asked for (<c>--STATE_ENCRYPTION_KEY_FILE</c>, a variable, not an option), and said nothing.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UnknownSwitchesTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--state-dir")]
    [InlineData("--STATE_ENCRYPTION_KEY_FILE")]
    [InlineData("--statepath")]
    public async Task AnOptionNothingReads_StopsTheStart_NamingIt_AndNothingIsCreated(string option)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string named = _directory.Combine("named");
        string fallback = _directory.Combine("fallback");
        int port = ServerProcess.FreePort();
        await using ServerProcess server = ServerProcess.Launch(port, ["--urls", $"http://127.0.0.1:{port}", option, named],
            new Dictionary<string, string> { ["STATE_PATH"] = fallback });

        // Poll until it exits, or until it answers, which means the option was ignored and it started elsewhere.
        while (!server.HasExited)
        {
            try
            {
                using HttpResponseMessage health = await server.Client.GetAsync("/health", ct);
                Assert.Fail($"The server started with {option} ignored (state in '{fallback}': {Directory.Exists(fallback)}):\n{server.Output}");
            }
            catch (HttpRequestException)
            {
                // Not listening (yet).
            }

            await Task.Delay(50, ct);
        }

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"{option} is not an option of this server", server.Output, StringComparison.Ordinal);
        Assert.Contains("--state-path", server.Output, StringComparison.Ordinal);
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
