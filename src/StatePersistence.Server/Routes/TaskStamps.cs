using StatePersistence.Model;

namespace StatePersistence.Server.Routes;

/// <summary>The timestamps a status change records, as the seed's task example shows them.</summary>
internal static class TaskStamps
{
    /// <summary>
    /// Sets <paramref name="status"/> and stamps <c>started_at</c> on <c>in_progress</c> and <c>completed_at</c> on
    /// <c>completed</c> or <c>failed</c>. Setting the status a task already has stamps nothing.
    /// </summary>
    public static void ChangeStatus(AgentTask task, string status, DateTimeOffset now)
    {
        if (string.Equals(task.Status, status, StringComparison.Ordinal))
        {
            return;
        }

        task.Status = status;
        switch (status)
        {
            case TaskStatuses.InProgress:
                task.StartedAt = now;
                break;
            case TaskStatuses.Completed or TaskStatuses.Failed:
                task.CompletedAt = now;
                break;
        }
    }
}
