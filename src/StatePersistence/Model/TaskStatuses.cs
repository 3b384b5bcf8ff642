namespace StatePersistence.Model;

/// <summary>The task statuses the seed uses. Other values are stored as given.</summary>
public static class TaskStatuses
{
    /// <summary>Created, not started.</summary>
    public const string Pending = "pending";

    /// <summary>Running.</summary>
    public const string InProgress = "in_progress";

    /// <summary>Finished successfully.</summary>
    public const string Completed = "completed";

    /// <summary>Finished with an error.</summary>
    public const string Failed = "failed";

    /// <summary>Stopped before finishing.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>All of the above.</summary>
    public static IReadOnlyList<string> All { get; } = [Pending, InProgress, Completed, Failed, Cancelled];

    /// <summary>Whether <paramref name="status"/> is one of <see cref="All"/>.</summary>
    public static bool IsKnown(string? status) => status is not null && All.Contains(status, StringComparer.Ordinal);
}
