using System.Diagnostics;
using System.Text.RegularExpressions;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The README's shell examples, pasted into bash as a reader would, against the real server process: the quick
/// start's and the route examples' curl lines (any error status fails them), and the API-key example.
/// </summary>
public sealed partial class ReadmeExamplesTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task QuickStartAndRouteExamples_RunInOrder_WithoutAnErrorStatus()
    {
        List<string> blocks = BashBlocks().Where(b => b.Contains("curl", StringComparison.Ordinal) && !b.Contains("dotnet", StringComparison.Ordinal)).ToList();
        Assert.True(blocks.Count >= 2, "the quick start's and the examples' curl blocks");
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", _directory.Combine("state")]);

        // --fail-with-body: a 4xx or 5xx answer makes curl, and with -e the script, fail.
        string script = "set -euo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n" +
            string.Join("\n", blocks.Select(b => b.Replace("127.0.0.1:5080", $"127.0.0.1:{port}", StringComparison.Ordinal)));
        (int exitCode, string output) = await RunBashAsync(script);

        Assert.True(exitCode == 0, $"bash exited {exitCode}:\n{output}\nserver:\n{server.Output}");
        Assert.Contains("npm test passed", output, StringComparison.Ordinal);
        Assert.Contains("\"saved\":true", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyExample_TheCurlBesideTheServerSendsTheKey()
    {
        string block = Assert.Single(BashBlocks(), b => b.Contains("export STATE_API_KEY", StringComparison.Ordinal));
        int port = ServerProcess.FreePort();
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string script = "set -uo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + block
            .Replace("dotnet run --project src/StatePersistence.Server --",
                $"'{dotnet}' '{ServerProcess.ServerDll}' --state-path '{_directory.Combine("state")}'", StringComparison.Ordinal)
            .Replace(":5080", $":{port}", StringComparison.Ordinal);

        (int exitCode, string output) = await RunBashAsync(script);

        Assert.True(exitCode == 0, $"bash exited {exitCode}:\n{output}");
        // The authorized list is "[]" (no newline: curl prints the body as sent), the anonymous request's code 401 on a
        // line of its own: the server, in the same terminal, logs the refused request (event 7136) between the two.
        Assert.Contains("[]", output, StringComparison.Ordinal);
        Assert.Matches("(?m)^401$", output);
        Assert.Contains("A request was refused (no_key, 401): GET /api/tasks", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unauthorized", output, StringComparison.Ordinal);
        Assert.Contains("is plain HTTP and reachable from other machines", output, StringComparison.Ordinal);
    }

    private static IEnumerable<string> BashBlocks()
    {
        string readme = File.ReadAllText(FindReadme());
        return BashBlock().Matches(readme).Select(m => m.Groups[1].Value);
    }

    private static string FindReadme()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "README.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(directory.FullName, "StatePersistence.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md beside StatePersistence.sln was not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int ExitCode, string Output)> RunBashAsync(string script)
    {
        var info = new ProcessStartInfo("bash", ["-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string name in new[] { "STATE_PATH", "STATE_API_KEY", "ASPNETCORE_URLS", "DOTNET_URLS" })
        {
            info.Environment.Remove(name);
        }

        using Process bash = Process.Start(info)!;
        Task<string> stdout = bash.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = bash.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await bash.WaitForExitAsync(timeout.Token);
        return (bash.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex("```bash\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
