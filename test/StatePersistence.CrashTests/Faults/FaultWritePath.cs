using StatePersistence.FileSystem;
using StatePersistence.Model;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Faults;

/// <summary>
/// One write path under fault injection: acknowledged data to start from (written by an earlier process), then the
/// one call whose file-system calls are failed, one at a time.
/// </summary>
internal sealed record FaultWritePath(string Name, Func<FaultTrial, Task> Setup, Func<FaultTrial, Task> Operation)
{
    /// <summary>Changes to the default options.</summary>
    public Action<StatePersistenceOptions>? Configure { get; init; }

    /// <summary>The operation is start-up recovery itself (the process's StartAsync).</summary>
    public bool IsStart { get; init; }

    /// <summary>
    /// The operation runs several calls at once (a checkpoint with saves racing it): how many file-system calls of
    /// a kind it makes varies with the interleaving, so a countdown that the run never reaches is no violation.
    /// </summary>
    public bool Concurrent { get; init; }

    public static IReadOnlyList<FaultWritePath> All { get; } =
    [
        new("save task", t => t.SaveTask(NewTask("a")), t => t.SaveTask(NewTask("b"))),
        new("update task", t => t.SaveTask(NewTask("a")), t => t.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"))),
        new("delete task", async t =>
        {
            await t.SaveTask(NewTask("a"));
            await t.SaveTask(NewTask("b"));
        }, t => t.DeleteTask("b")),
        new("save session", t => t.SaveSession(NewSession("s1")), t => t.SaveSession(NewSession("s1", "closed"))),
        new("append to a new log", t => t.SaveSession(NewSession("s1")), t => t.AppendLog("s1", "agent started\n")),
        new("append to an existing log", t => t.AppendLog("s1", "first line\n"), t => t.AppendLog("s1", "second line\n")),
        new("save report", t => t.SaveReport("weekly", NewReport("week 1", 3)), t => t.SaveReport("weekly", NewReport("week 2", 4))),
        new("snapshot with backup rotation", async t =>
        {
            await t.SaveTask(NewTask("a"));
            await t.Snapshot();
            await t.SaveTask(NewTask("b"));
            await t.Snapshot();
            await t.DeleteTask("a");
        }, t => t.Snapshot())
        {
            Configure = o => o.MaxBackups = 1,
        },
        new("checkpoint of many changed tasks (one syncfs)", async t =>
        {
            for (int i = 0; i < PhysicalFileSystem.SyncFsThreshold + 2; i++)
            {
                await t.SaveTask(NewTask($"t{i}"));
            }
        }, t => t.Snapshot()),
        new("snapshot while saves, an update and a delete run", async t =>
        {
            await t.SaveTask(NewTask("a"));
            await t.SaveTask(NewTask("b"));
            await t.Snapshot();
            await t.SaveTask(NewTask("c"));
        }, t => Task.WhenAll(t.Snapshot(), t.SaveTask(NewTask("d")), t.UpdateTask("a", Progress(TaskStatuses.InProgress, "started")),
            t.DeleteTask("b"), t.SaveSession(NewSession("s1"))))
        {
            Configure = o => o.MaxBackups = 1,
            Concurrent = true,
        },
        new("save whole state", async t =>
        {
            await t.SaveTask(NewTask("a"));
            await t.SaveTask(NewTask("b"));
        }, t => t.SaveState(new PersistedState
        {
            Tasks = [NewTask("a", TaskStatuses.Completed), NewTask("c")],
            ExtensionData = new() { ["app_version"] = Json("\"2.1\"") },
        })),
        new("start-up recovery", async t =>
        {
            await t.SaveTask(NewTask("a"));
            await t.Snapshot();
            await t.SaveTask(NewTask("b"));
            await t.AppendLog("s1", "line\n");
            t.LeaveWorkForRecovery();
        }, t => Task.CompletedTask)
        {
            IsStart = true,
        },
    ];

    public static FaultWritePath Named(string name) => All.Single(p => p.Name == name);

    public override string ToString() => Name;
}
