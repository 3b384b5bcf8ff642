using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Cli.Tests.Interruption;

/// <summary>
/// Ctrl-C in the middle of an export: the archive is written to a temp file beside FILE and renamed when whole, so
/// stopping it must remove that temp file. Before 2026-12-07 the export did not stop on the signal: the process ended
/// two seconds later in the middle of the write, and the partial temp file (here about 100 MB) stayed beside FILE, named
/// nowhere, where every interrupted export of an operator's backup script left another.
/// </summary>
public sealed class InterruptedExportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Export_InterruptedWhileWritingTheArchive_RemovesItsTempFile_AndSaysNothingWasWritten()
    {
        await WriteLargeLogsAsync();
        string target = _temp.Combine("exports");
        Directory.CreateDirectory(target);
        string archive = Path.Combine(target, "state.tar.gz");

        using Process export = StatectlProcess.Start("export", archive, "--state-path", StatePath, "--json");
        Task<string> output = export.StandardOutput.ReadToEndAsync(Http.Ct);
        Task<string> errors = export.StandardError.ReadToEndAsync(Http.Ct);

        // The temp file holds part of the archive: a stop from now on is in the middle of its write.
        await WaitUntilAsync(() => Directory.EnumerateFiles(target).Any(f => new FileInfo(f).Length > 0), export);
        await SignalAsync(export, "-INT");
        await export.WaitForExitAsync(Http.Ct);

        string run = $"exit code {export.ExitCode}\n--- stdout ---\n{await output}\n--- stderr ---\n{await errors}";
        Assert.True(export.ExitCode == 130, run);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));
        string error = JsonDocument.Parse(await output).RootElement.GetProperty("error").GetString()!;
        Assert.Contains($"The export to '{archive}' stopped before it finished, interrupted by a signal (Ctrl-C or SIGTERM); nothing was written: its temp file was removed", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Ctrl-C in the middle of an import: it stops between two writes, the file being written removed, and says that the
    /// same import resumes it; running it again finishes it. Before 2026-12-07 it said only that the command stopped,
    /// and a temp file of the log it was writing stayed in the directory.
    /// </summary>
    [Fact]
    public async Task Import_InterruptedWhileWritingFiles_SaysToRunItAgain_AndRunningItAgainFinishesIt()
    {
        await WriteLargeLogsAsync();
        string archive = _temp.Combine("state.tar.gz");
        StatectlRun exported = await StatectlRun.RunAsync("export", archive, "--state-path", StatePath);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        string restored = _temp.Combine("restored");

        using Process import = StatectlProcess.Start("import", archive, "--state-path", restored, "--json");
        Task<string> output = import.StandardOutput.ReadToEndAsync(Http.Ct);
        Task<string> errors = import.StandardError.ReadToEndAsync(Http.Ct);
        await WaitUntilAsync(() => Directory.Exists(Path.Combine(restored, "logs")) && Directory.EnumerateFiles(Path.Combine(restored, "logs")).Any(), import);
        await SignalAsync(import, "-INT");
        await import.WaitForExitAsync(Http.Ct);

        string run = $"exit code {import.ExitCode}\n--- stdout ---\n{await output}\n--- stderr ---\n{await errors}";
        Assert.True(import.ExitCode == 130, run);
        string error = JsonDocument.Parse(await output).RootElement.GetProperty("error").GetString()!;
        Assert.Contains($"The import of '{archive}' into '{restored}' stopped before it finished", error, StringComparison.Ordinal);
        Assert.Contains("nothing opens it until the same import is run again, which resumes it", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(restored, "*", SearchOption.AllDirectories), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        StatectlRun again = await StatectlRun.RunAsync("import", archive, "--state-path", restored);
        Assert.True(again.ExitCode == 0, again.ToString());
        StatectlRun verify = await StatectlRun.RunAsync("verify", "--state-path", restored);
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    /// <summary>
    /// Session logs of about 400 MB of base64 text, which takes the export several seconds to compress (written in the
    /// clear and without fsync, which makes the setup fast).
    /// </summary>
    private async Task WriteLargeLogsAsync()
    {
        byte[] random = new byte[12 << 20];
        new Random(7).NextBytes(random);
        string text = Convert.ToBase64String(random) + "\n";
        await using StatePersistenceService writer = await FileStatePersistence.OpenAsync(
            new StatePersistenceOptions { StatePath = StatePath, Durability = Durability.Relaxed }, cancellationToken: Http.Ct);
        for (int session = 0; session < 4; session++)
        {
            await writer.SaveSessionAsync(new Model.SessionInfo { Id = $"s{session}", Type = "chat", Status = "active" }, cancellationToken: Http.Ct);
            for (int append = 0; append < 6; append++)
            {
                await writer.AppendSessionLogAsync($"s{session}", text, Http.Ct);
            }
        }
    }

    /// <summary>Polls <paramref name="condition"/> (bounded); fails if <paramref name="process"/> ends first.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Process process)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Http.Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        while (!condition())
        {
            Assert.False(process.HasExited, "statectl ended before the condition held: exit code " + (process.HasExited ? process.ExitCode : 0));
            await Task.Delay(2, timeout.Token);
        }
    }

    private static async Task SignalAsync(Process process, string signal)
    {
        using Process kill = Process.Start("kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(Http.Ct);
        Assert.Equal(0, kill.ExitCode);
    }

    public void Dispose() => _temp.Dispose();
}
