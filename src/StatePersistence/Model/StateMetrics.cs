namespace StatePersistence.Model;

/// <summary>
/// The seed's metrics object. It is derived from the stored tasks whenever it is read, so it can never
/// disagree with them after a crash.
/// </summary>
public sealed class StateMetrics
{
    /// <summary>Number of stored tasks.</summary>
    public long TotalTasks { get; set; }

    /// <summary>Tasks whose status is <c>completed</c>.</summary>
    public long CompletedTasks { get; set; }

    /// <summary>Tasks whose status is <c>failed</c>.</summary>
    public long FailedTasks { get; set; }

    /// <summary>
    /// Mean of <c>completed_at - started_at</c> (or <c>created_at</c> when a task never recorded a start) over
    /// completed tasks, in milliseconds; 0 when there are none.
    /// </summary>
    public double AverageCompletionTime { get; set; }
}
