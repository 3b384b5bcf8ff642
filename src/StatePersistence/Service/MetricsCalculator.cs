using StatePersistence.Commit;
using StatePersistence.Model;

namespace StatePersistence;

/// <summary>Derives the seed's metrics from the stored tasks.</summary>
internal static class MetricsCalculator
{
    public static StateMetrics Compute(IEnumerable<StoredItem> tasks)
    {
        long total = 0, completed = 0, failed = 0, timed = 0;
        double sum = 0;
        foreach (StoredItem task in tasks)
        {
            total++;
            if (task.Status == TaskStatuses.Completed)
            {
                completed++;
            }
            else if (task.Status == TaskStatuses.Failed)
            {
                failed++;
            }

            if (task.CompletionMilliseconds is { } ms)
            {
                timed++;
                sum += ms;
            }
        }

        return new StateMetrics
        {
            TotalTasks = total,
            CompletedTasks = completed,
            FailedTasks = failed,
            AverageCompletionTime = timed == 0 ? 0 : sum / timed,
        };
    }
}
