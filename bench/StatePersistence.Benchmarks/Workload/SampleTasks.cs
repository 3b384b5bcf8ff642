using System.Text.Json;
using StatePersistence.Model;

namespace StatePersistence.Benchmarks.Workload;

/// <summary>Makes realistic tasks (~1 KB of JSON each: a description, four log lines, a result) and whole states.</summary>
public static class SampleTasks
{
    private static readonly DateTimeOffset Epoch = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly JsonElement Result = JsonDocument.Parse(
        """{"exit_code":0,"files_changed":3,"summary":"Refactored the retry policy and added tests for the backoff edge cases."}""")
        .RootElement.Clone();

    /// <summary>The id of task number <paramref name="index"/>.</summary>
    public static string IdOf(int index) => $"task-{index:D6}";

    /// <summary>
    /// Task number <paramref name="index"/>; <paramref name="version"/> moves its <c>updated_at</c> on by that many
    /// seconds, so versions differ in content but not in size.
    /// </summary>
    public static AgentTask Create(int index, int version = 0)
    {
        DateTimeOffset created = Epoch.AddSeconds(index);
        return new AgentTask
        {
            Id = IdOf(index),
            Description = "Investigate the flaky integration test in the payment service and make the retry "
                + "policy deterministic; keep the public API unchanged.",
            Status = TaskStatuses.InProgress,
            Tool = "CLAUDECODE",
            CreatedAt = created,
            UpdatedAt = created.AddMinutes(3).AddSeconds(version),
            StartedAt = created.AddSeconds(5),
            Logs =
            [
                Log(created.AddSeconds(5), "info", "system", "Task started in workspace /srv/agents/ws-17."),
                Log(created.AddSeconds(42), "info", "output", "Found 3 call sites of RetryPolicy.Execute in src/Payments."),
                Log(created.AddSeconds(97), "warn", "output", "Test PaymentFlowTests.Refund timed out after 30 s; retrying."),
                Log(created.AddMinutes(3), "info", "output", "All 214 tests passed; preparing a summary of the change."),
            ],
            Result = Result,
        };
    }

    /// <summary>A whole state of <paramref name="taskCount"/> tasks, as a snapshot holds it.</summary>
    public static PersistedState CreateState(int taskCount)
    {
        var state = new PersistedState { Revision = taskCount, LastSaved = Epoch };
        state.Tasks.Capacity = taskCount;
        for (int i = 0; i < taskCount; i++)
        {
            state.Tasks.Add(Create(i));
        }

        state.Metrics.TotalTasks = taskCount;
        return state;
    }

    private static TaskLogEntry Log(DateTimeOffset at, string level, string type, string message) =>
        new() { Timestamp = at, Level = level, Type = type, Message = message };
}
