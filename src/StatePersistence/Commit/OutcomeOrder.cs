namespace StatePersistence.Commit;

/// <summary>
/// The order in which operations got their outcome from the store: a number taken when the store answered, larger for
/// each later answer. What the health check goes by to tell the last save (<see cref="Service.Health.HealthTracker"/>):
/// an outcome reaches it later than the store gave it (a group's commits are answered on the thread pool, behind
/// whatever queues there; a slow logger writes before the report), so the order of the reports is not the order of the
/// outcomes. One sequence for the process: only the order of two numbers means anything.
/// </summary>
internal static class OutcomeOrder
{
    private static long _last;

    /// <summary>A number larger than every one taken before it.</summary>
    public static long Next() => Interlocked.Increment(ref _last);
}
