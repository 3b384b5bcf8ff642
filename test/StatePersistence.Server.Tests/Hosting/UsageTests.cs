using System.Diagnostics;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// <c>--help</c> (<c>-h</c>, <c>-?</c>) prints the server's options, the environment variables and the configuration
/// section on standard output and exits 0 without starting: no state directory, no port. <c>--version</c> prints the
/// build's version. Before 2026-12-07 both were refused as unknown options (exit 2, <see cref="UnknownSwitchesTests"/>).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UsageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public async Task Help_PrintsTheOptionsVariablesAndSection_AndExits0_WithoutStarting(string help)
    {
        int port = ServerProcess.FreePort();
        (int exit, string output, string error) = await RunAsync("--urls", $"http://127.0.0.1:{port}", help);

        Assert.True(exit == 0, $"exit {exit}:\n{output}\n{error}");
        Assert.Equal("", error);
        foreach (string expected in new[]
        {
            "--state-path", "--store", "--encryption-key-file", "--connection-string", "--urls", "--Section:Key",
            "--help", "--version", "STATE_PATH", "STATE_API_KEY", "STATE_ENCRYPTION_KEY_FILE", "STATE_ENCRYPTION_KEY",
            "STATEPERSISTENCE_CONNECTION_STRING", "StatePersistence__", "appsettings.json", "\"StatePersistence\"",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        Assert.Empty(Directory.GetFileSystemEntries(_directory.Path));
    }

    [Fact]
    public async Task TheRefusalOfAnUnknownOption_ListsTheOptionsHelpDescribes()
    {
        (int refused, string _, string refusal) = await RunAsync("--state-dir", _directory.Combine("named"));
        (int _, string help, string _) = await RunAsync("--help");

        Assert.Equal(2, refused);
        Assert.Contains("--help lists them", refusal, StringComparison.Ordinal);
        string listed = refusal[(refusal.IndexOf("Its options are ", StringComparison.Ordinal) + "Its options are ".Length)..];
        foreach (string option in listed[..listed.IndexOf(", and any setting", StringComparison.Ordinal)].Split(", "))
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Version_PrintsTheBuildsInformationalVersion_AndExits0()
    {
        (int exit, string output, string error) = await RunAsync("--version");

        Assert.True(exit == 0, $"exit {exit}:\n{output}\n{error}");
        Assert.Equal(FileVersionInfo.GetVersionInfo(ServerProcess.ServerDll).ProductVersion + Environment.NewLine, output);
        Assert.Empty(Directory.GetFileSystemEntries(_directory.Path));
    }

    /// <summary>Runs the server in the temporary directory, with STATE_PATH there too, until it exits (bounded).</summary>
    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory.Path,
        };
        info.ArgumentList.Add(ServerProcess.ServerDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["STATE_PATH"] = _directory.Combine("fallback");
        info.Environment.Remove("STATE_API_KEY");
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"The server did not exit with {string.Join(' ', arguments)}: it started.\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }
}
