using System.Text.Json;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl verify</c> (<see cref="StateDirectoryVerifier"/>) lists every file it cannot read and goes on through
/// the rest of the directory: an operator needs the whole list in one run. Read failures the file system raises
/// (EACCES, EIO) are injected, as a test running as root cannot be refused a read; a directory where a file belongs
/// is real. Before, the first such file stopped the run with its exception and nothing else was listed.
/// </summary>
public sealed class VerifyUnreadableFilesTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ThreeUnreadableFiles_AreEachListed_AndTheRestIsStillChecked()
    {
        await WriteAsync();
        string report = _fixture.File("reports", "report_r1.json");
        string log = _fixture.File("logs", "session_s1.log");
        string backup = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).First();
        // A damaged file beside them, which only a run that went on past the unreadable ones lists.
        byte[] task = await File.ReadAllBytesAsync(_fixture.File("tasks", "task_3.json"), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_3.json"), task[..(task.Length / 2)], TestContext.Current.CancellationToken);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == report);
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true, pathFilter: p => p == log);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == backup);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, disk);

        string all = string.Join("\n", result.Problems);
        Assert.False(result.Ok);
        Assert.True(result.Problems.Count(p => p.Path == report && p.Id == "r1" && p.Problem.Contains("cannot be read", StringComparison.Ordinal)
            && p.Problem.Contains("denied", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count(p => p.Path == log && p.Id == "s1" && p.Problem.Contains("cannot be read", StringComparison.Ordinal)
            && p.Problem.Contains("Input/output error", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count(p => p.Path == backup && p.Problem.Contains("cannot be read", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count(p => p.Path == _fixture.File("tasks", "task_3.json") && p.Problem.Contains("the task file is damaged", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count == 4, all);
        Assert.Equal(2, result.FilesChecked["logs"]);
        Assert.Equal(1, result.FilesChecked["reports"]);
    }

    [Fact]
    public async Task AnUnreadableStateJson_IsListed_AndEveryOtherFileIsCheckedOnItsOwn()
    {
        await WriteAsync();
        string state = _fixture.File("state.json");
        string report = _fixture.File("reports", "report_r1.json");
        byte[] task = await File.ReadAllBytesAsync(_fixture.File("tasks", "task_2.json"), TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_2.json"), task[..(task.Length / 2)], TestContext.Current.CancellationToken);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true, pathFilter: p => p == state);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == report);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, disk);

        string all = string.Join("\n", result.Problems);
        Assert.True(result.Problems.Count(p => p.Path == state && p.Problem.Contains("cannot be read", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count(p => p.Path == report && p.Problem.Contains("cannot be read", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count(p => p.Path == _fixture.File("tasks", "task_2.json") && p.Problem.Contains("the task file is damaged", StringComparison.Ordinal)) == 1, all);
        Assert.True(result.Problems.Count == 3, all);
    }

    /// <summary>
    /// An item file the file system refuses to read says nothing about its content: the scrub leaves it as it is, and a
    /// start that rebuilds from the item files stops on it. Verify said "start-up recovery would move it aside".
    /// </summary>
    [Fact]
    public async Task AnUnreadableItemFile_IsListed_WithWhatTheStoreDoesAboutIt_NotAsMovedAside()
    {
        await WriteAsync();
        string task = _fixture.File("tasks", "task_2.json");
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == task);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, disk);

        string all = string.Join("\n", result.Problems);
        StateDirectoryProblem problem = Assert.Single(result.Problems, p => p.Path == task);
        Assert.Contains("cannot be read", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("says nothing about its content", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("Check its owner and permissions", problem.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("move it aside", problem.Problem, StringComparison.Ordinal);
        Assert.True(result.Problems.Count == 1, all);
    }

    /// <summary>
    /// A task archive the file system refuses to read is that archive's problem: the read of its manifest threw
    /// <see cref="UnauthorizedAccessException"/> out of the whole verify (and of <c>statectl archive list</c>) before
    /// 2026-12-07, once verify read <c>archive/</c>.
    /// </summary>
    [Fact]
    public async Task AnUnreadableTaskArchive_IsListed_AndTheOtherArchiveIsStillRead()
    {
        await WriteAsync();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var archives = new List<string>();
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            foreach (string id in new[] { "done_1", "done_2" })
            {
                await service.SaveTaskAsync(new AgentTask { Id = id, Description = id, Status = TaskStatuses.Completed, CompletedAt = DateTimeOffset.UtcNow.AddDays(-2) }, ct);
                TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-1), cancellationToken: ct);
                archives.Add(archived.Archive!);
            }
        }

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == archives[0]);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, new StatNeedsNoRead(disk));

        string all = string.Join("\n", result.Problems);
        StateDirectoryProblem problem = Assert.Single(result.Problems);
        Assert.Equal(archives[0], problem.Path);
        Assert.Contains("the task archive's manifest does not read (", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("denied", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(2, result.FilesChecked["archives"]);
        Assert.True(result.Problems.Count == 1, all);
    }

    [Fact]
    public async Task ADirectoryWhereAFileBelongs_IsListed_NamingIt()
    {
        await WriteAsync();
        File.Delete(_fixture.File("reports", "report_r1.json"));
        Directory.CreateDirectory(_fixture.File("reports", "report_r1.json"));
        File.Delete(_fixture.File("logs", "session_s2.log"));
        Directory.CreateDirectory(_fixture.File("logs", "session_s2.log"));
        Directory.CreateDirectory(_fixture.File("tasks", "task_9.json"));

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath);

        string all = string.Join("\n", result.Problems);
        foreach (string path in new[] { _fixture.File("reports", "report_r1.json"), _fixture.File("logs", "session_s2.log"), _fixture.File("tasks", "task_9.json") })
        {
            Assert.True(result.Problems.Count(p => p.Path == path && p.Problem.Contains("is a directory", StringComparison.Ordinal)) == 1, all);
        }

        Assert.True(result.Problems.Count == 3, all);
    }

    /// <summary>
    /// A file's length read as the kernel gives it, by <c>stat(2)</c>, which needs no read permission: the fault-injecting
    /// file system reads it by opening the file, so a refused open would refuse the length too.
    /// </summary>
    private sealed class StatNeedsNoRead(IFileSystem inner) : PassThroughFileSystem(inner), IFileSystem
    {
        public long LengthOf(string path) => PhysicalFileSystem.Instance.LengthOf(path);
    }

    /// <summary>Three tasks, sessions s1 and s2 with a log each, report r1, and a backup (two checkpoints).</summary>
    private async Task WriteAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        for (int i = 1; i <= 3; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), ct);
        }

        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s2", Type = "chat", Status = "active" }, ct);
        await service.AppendSessionLogAsync("s1", "first line\n", ct);
        await service.AppendSessionLogAsync("s1", "second line\n", ct);
        await service.AppendSessionLogAsync("s2", "other session\n", ct);
        using JsonDocument data = JsonDocument.Parse("""{"ok":true}""");
        await service.SaveReportAsync("r1", data.RootElement, ct);
        await service.SaveSnapshotAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "changed"), ct);
        await service.SaveSnapshotAsync(ct);
    }
}
