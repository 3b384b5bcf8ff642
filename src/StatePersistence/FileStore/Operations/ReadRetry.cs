namespace StatePersistence.FileStore.Operations;

/// <summary>
/// How a read beside a running server tries again when the server changed the files under it (a checkpoint replacing
/// <c>state.json</c>, a rotation renaming a session log's parts). A server's step takes microseconds, but its thread
/// can be descheduled in the middle of one for longer than many back-to-back attempts take, and each would then see
/// the same half-done step. So the attempts wait between them, 1 ms doubling up to 250 ms: about 3 s over
/// <see cref="MaxAttempts"/>, after which the read says the files kept changing (or, where that is what it sees,
/// reports the damage).
/// </summary>
internal static class ReadRetry
{
    /// <summary>How many attempts a read makes before it gives up.</summary>
    public const int MaxAttempts = 20;

    /// <summary>The longest wait between two attempts.</summary>
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(250);

    /// <summary>The wait before attempt <paramref name="attempt"/> (counted from 1, so 2 or more): 1 ms, 2 ms, 4 ms, … up to 250 ms.</summary>
    public static TimeSpan PauseBefore(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 2);
        return TimeSpan.FromMilliseconds(Math.Min(Math.Pow(2, Math.Min(attempt - 2, 30)), LongestPause.TotalMilliseconds));
    }
}
