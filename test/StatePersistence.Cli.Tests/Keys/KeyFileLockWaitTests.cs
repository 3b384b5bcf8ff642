using System.Diagnostics;
using System.Text;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// A key-file change that waits for another one's lock says so at once, naming the lock and the process holding it,
/// instead of hanging without a word; it runs once the lock is free.
/// </summary>
public sealed class KeyFileLockWaitTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task Rotate_WhileAnotherProcessHoldsTheKeyFileLock_SaysItWaitsNamingTheLockAndItsHolder_ThenRotates()
    {
        string state = _temp.Combine("state");
        Directory.CreateDirectory(state);
        string keyFile = _temp.Combine("keys.json");
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", keyFile, "--state-path", state);
        Assert.True(created.ExitCode == 0, created.ToString());
        string lockFile = keyFile + ".lock";

        // Held as the library holds it (flock through FileShare.None), by this test process.
        var held = new FileStream(lockFile, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });
        using Process rotate = StatectlProcess.Start("keys", "rotate", "--key-file", keyFile, "--state-path", state);
        var errors = new StringBuilder();
        rotate.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        rotate.BeginErrorReadLine();
        Task<string> output = rotate.StandardOutput.ReadToEndAsync(Http.Ct);
        bool saidItWaits;
        try
        {
            saidItWaits = await ProcessWaits.PollAsync(() => ProcessWaits.Text(errors).Contains("waiting for the lock", StringComparison.Ordinal) || rotate.HasExited);
        }
        finally
        {
            await held.DisposeAsync();
        }

        await rotate.WaitForExitAsync(Http.Ct);
        Assert.True(saidItWaits, "nothing said within 30 s while the lock was held: " + ProcessWaits.Text(errors));
        Assert.True(rotate.ExitCode == 0, $"exit code {rotate.ExitCode}: {ProcessWaits.Text(errors)}");
        // Whole, not cut short as Assert.Contains prints it: what it lacked is what to look at.
        Assert.True(ProcessWaits.Text(errors).Contains($"waiting for the lock '{lockFile}', held by process {Environment.ProcessId}", StringComparison.Ordinal), ProcessWaits.Text(errors));
        Assert.Contains("is now active", await output, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();
}
