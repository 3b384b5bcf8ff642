using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// <c>statectl keys rotate</c> run several times at once: each prints the key it actually retired, the one active when
/// it had the key file's lock, so the ids printed chain from the first key to the active one as the file holds them.
/// Before, each read the active key before waiting for the lock, and all four printed the same "previous" key (the
/// one an operator would then retire with <c>keys retire OLD --remove</c>, though three of them had not retired it).
/// </summary>
public sealed class ConcurrentRotateTests : IDisposable
{
    private const int Rotations = 4;
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RotationsRunAtOnce_EachReportTheKeyItRetired_AndTheReportedChainIsTheFiles()
    {
        string state = _temp.Combine("state");
        Directory.CreateDirectory(state);
        string keyFile = _temp.Combine("keys.json");
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", keyFile, "--state-path", state, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string first = created.Json().GetProperty("keyId").GetString()!;

        // The lock held (as the library holds it) until every rotation has started and waits for it: they all run
        // "at once", whatever the machine's speed.
        var held = new FileStream(keyFile + ".lock", new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });
        var runs = new List<(Process Process, StringBuilder Errors, Task<string> Output)>();
        try
        {
            for (int i = 0; i < Rotations; i++)
            {
                Process rotate = StatectlProcess.Start("keys", "rotate", "--key-file", keyFile, "--state-path", state, "--json");
                var errors = new StringBuilder();
                rotate.ErrorDataReceived += (_, e) =>
                {
                    lock (errors)
                    {
                        errors.AppendLine(e.Data);
                    }
                };
                rotate.BeginErrorReadLine();
                runs.Add((rotate, errors, rotate.StandardOutput.ReadToEndAsync(Http.Ct)));
            }

            Assert.True(await ProcessWaits.PollAsync(() => runs.All(r => ProcessWaits.Text(r.Errors).Contains("waiting for the lock", StringComparison.Ordinal) || r.Process.HasExited)),
                "not every rotation said it waits for the lock within 30 s");
        }
        finally
        {
            await held.DisposeAsync();
        }

        var chain = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((Process process, StringBuilder errors, Task<string> output) in runs)
        {
            using (process)
            {
                await process.WaitForExitAsync(Http.Ct);
                Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {ProcessWaits.Text(errors)}");
                using JsonDocument report = JsonDocument.Parse(await output);
                string previous = report.RootElement.GetProperty("previousKeyId").GetString()!;
                Assert.True(chain.TryAdd(previous, report.RootElement.GetProperty("keyId").GetString()!),
                    $"two rotations reported retiring {previous}: {string.Join("; ", chain.Select(c => c.Key + " -> " + c.Value))}");
            }
        }

        // From the first key, each reported retirement leads to the next rotation's key, ending at the active one.
        var walked = new List<string> { first };
        while (chain.TryGetValue(walked[^1], out string? next))
        {
            walked.Add(next);
        }

        // The file itself, as it is read by every process that uses it.
        using JsonDocument file = JsonDocument.Parse(await File.ReadAllTextAsync(keyFile, Http.Ct));
        Dictionary<string, string> states = file.RootElement.GetProperty("keys").EnumerateArray()
            .ToDictionary(k => k.GetProperty("id").GetString()!, k => k.GetProperty("state").GetString()!, StringComparer.Ordinal);
        Assert.Equal(Rotations + 1, walked.Count);
        Assert.Equal(walked.Order(StringComparer.Ordinal), states.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("active", states[walked[^1]]);
        Assert.All(walked.SkipLast(1), id => Assert.Equal("retired", states[id]));
    }
}
