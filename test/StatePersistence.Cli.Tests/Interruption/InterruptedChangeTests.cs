using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Cli.Tests.Interruption;

/// <summary>
/// Ctrl-C in the middle of a command that changes the directory: the change is not stopped between its steps (an
/// archive written while its tasks stay live, a commit whose result is never printed, logs half removed), it
/// finishes, says that it did, and prints its result.
/// </summary>
public sealed class InterruptedChangeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task Archive_InterruptedOnceItsArchiveIsWritten_FinishesDeletingTheTasksAndTheirLogs_AndPrintsTheArchive()
    {
        // Enough sessions that removing their logs after the commit takes a while (each removal is made durable).
        const int tasks = 3000;
        const int logs = 1500;
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(
            new StatePersistenceOptions { StatePath = StatePath, Durability = Durability.Relaxed }, cancellationToken: Http.Ct))
        {
            DateTimeOffset finished = DateTimeOffset.UtcNow.AddDays(-10);
            await writer.SaveStateAsync(new Model.PersistedState
            {
                Tasks = [.. Enumerable.Range(0, tasks).Select(i => new Model.AgentTask { Id = $"task_{i:D4}", Description = "task " + i, Status = "completed", CompletedAt = finished })],
                Sessions = [.. Enumerable.Range(0, logs).Select(i => new Model.SessionInfo { Id = $"s{i:D4}", Type = "chat", Status = "closed", TaskId = $"task_{i:D4}" })],
            }, Http.Ct);
            for (int i = 0; i < logs; i++)
            {
                await writer.AppendSessionLogAsync($"s{i:D4}", "done\n", Http.Ct);
            }
        }

        string cut = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        using Process archive = StatectlProcess.Start("archive", "--completed-before", cut, "--with-logs", "--state-path", StatePath, "--json");
        Task<string> output = archive.StandardOutput.ReadToEndAsync(Http.Ct);
        Task<string> errors = archive.StandardError.ReadToEndAsync(Http.Ct);

        // The archive file is in place before anything leaves the state: from then on a stop leaves it half-done.
        string archives = Path.Combine(StatePath, "archive");
        await WaitUntilAsync(() => Directory.Exists(archives) && Directory.EnumerateFiles(archives, "*.tar.gz").Any(), archive);
        await SignalAsync(archive, "-INT");
        await archive.WaitForExitAsync(Http.Ct);

        string run = $"exit code {archive.ExitCode}\n--- stdout ---\n{await output}\n--- stderr ---\n{await errors}";
        Assert.True(archive.ExitCode == 0, run);
        Assert.Contains("SIGINT received while the archive is changing the state directory", await errors, StringComparison.Ordinal);
        JsonElement result = JsonDocument.Parse(await output).RootElement;
        Assert.Equal(tasks, result.GetProperty("tasks").GetInt32());
        Assert.Equal(logs, result.GetProperty("logs").GetInt32());
        Assert.Equal(Directory.EnumerateFiles(archives, "*.tar.gz").Single(), result.GetProperty("archive").GetString());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(StatePath, "logs")));
        StatectlRun list = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(0, list.Json().GetProperty("count").GetInt32());
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
