namespace StatePersistence.Retention;

/// <summary>
/// The retention policy (<c>StatePersistence:Retention</c>): what the background retention pass removes so the state
/// directory stays small on its own. Off by default: with <see cref="SessionLogMaxBytes"/>, <see cref="ReportMaxAge"/>
/// and <see cref="TaskArchiveAfter"/> at 0 nothing is ever rotated, expired or archived.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>The most rotated parts a log may keep: each is one rename per rotation, and one file read per log read.</summary>
    public const int MaxRotatedParts = 100;

    /// <summary>
    /// The longest <see cref="ReportMaxAge"/> and <see cref="TaskArchiveAfter"/> accepted: 100 years. The pass compares
    /// with now minus the age, which must stay a date; 0, not a long age, is what keeps for ever.
    /// </summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(36_500);

    private long _sessionLogMaxBytes;
    private int _sessionLogRotatedParts = 1;
    private TimeSpan _reportMaxAge;
    private TimeSpan _taskArchiveAfter;
    private bool _taskArchiveWithLogs;
    private TimeSpan _interval = TimeSpan.FromMinutes(5);
    private bool _frozen;

    /// <summary>
    /// The size a session log (<c>logs/session_&lt;id&gt;.log</c>, its framing included) may reach before the pass
    /// rotates it. Default 0: no cap. The pass runs every <see cref="Interval"/>, so a log may pass the cap by what is
    /// appended in between.
    /// </summary>
    public long SessionLogMaxBytes
    {
        get => _sessionLogMaxBytes;
        set => _sessionLogMaxBytes = Unfrozen(value);
    }

    /// <summary>
    /// How many rotated parts of a session log are kept (<c>session_&lt;id&gt;.log.1</c> the newest, up to
    /// <c>.log.N</c>); the part rotated beyond N is dropped. Default 1. 0 keeps no part: the log is rewritten with its
    /// newest whole appends that fit in half the cap, and its oldest appends are dropped.
    /// </summary>
    public int SessionLogRotatedParts
    {
        get => _sessionLogRotatedParts;
        set => _sessionLogRotatedParts = Unfrozen(value);
    }

    /// <summary>
    /// How old a report (by its <c>created_at</c>, which the state server stamps) may get before the pass deletes it.
    /// Default 0: reports never expire. A report without a <c>created_at</c> it can read is kept.
    /// </summary>
    public TimeSpan ReportMaxAge
    {
        get => _reportMaxAge;
        set => _reportMaxAge = Unfrozen(value);
    }

    /// <summary>
    /// How long after it finished (its <c>completed_at</c>, else its <c>updated_at</c>) a task with status
    /// <c>completed</c> or <c>failed</c> stays live before the pass moves it into an archive under <c>archive/</c>
    /// (<see cref="FileStore.Operations.TaskArchives.ArchiveAsync"/>: the archive is durable before the task is deleted).
    /// Default 0: tasks are never archived. The file store only (under encryption the archive's entries are sealed).
    /// </summary>
    public TimeSpan TaskArchiveAfter
    {
        get => _taskArchiveAfter;
        set => _taskArchiveAfter = Unfrozen(value);
    }

    /// <summary>
    /// Whether the tasks the pass archives take their session logs and reports along
    /// (<c>statectl archive --with-logs</c>). Default false.
    /// </summary>
    public bool TaskArchiveWithLogs
    {
        get => _taskArchiveWithLogs;
        set => _taskArchiveWithLogs = Unfrozen(value);
    }

    /// <summary>
    /// How often the background pass applies the policy (the first pass runs right after start-up). Default 5 minutes;
    /// 0 turns the pass off.
    /// </summary>
    public TimeSpan Interval
    {
        get => _interval;
        set => _interval = Unfrozen(value);
    }

    /// <summary>Whether any part of the policy is on (and the pass runs).</summary>
    public bool IsEnabled => Interval > TimeSpan.Zero && (SessionLogMaxBytes > 0 || ReportMaxAge > TimeSpan.Zero || TaskArchiveAfter > TimeSpan.Zero);

    internal void Freeze() => _frozen = true;

    internal void Validate(List<string> problems)
    {
        if (SessionLogMaxBytes < 0)
        {
            problems.Add($"Retention:SessionLogMaxBytes must not be negative (was {SessionLogMaxBytes}); 0 turns the cap off.");
        }

        if (SessionLogRotatedParts < 0)
        {
            problems.Add($"Retention:SessionLogRotatedParts must not be negative (was {SessionLogRotatedParts}); 0 drops the oldest appends instead of keeping parts.");
        }

        if (SessionLogRotatedParts > MaxRotatedParts)
        {
            problems.Add($"Retention:SessionLogRotatedParts must be at most {MaxRotatedParts} (was {SessionLogRotatedParts}).");
        }

        if (ReportMaxAge < TimeSpan.Zero)
        {
            problems.Add($"Retention:ReportMaxAge must not be negative (was {ReportMaxAge}); 0 keeps reports forever.");
        }

        if (TaskArchiveAfter < TimeSpan.Zero)
        {
            problems.Add($"Retention:TaskArchiveAfter must not be negative (was {TaskArchiveAfter}); 0 keeps finished tasks live forever.");
        }

        foreach ((string name, TimeSpan age) in (ReadOnlySpan<(string, TimeSpan)>)[
            ("Retention:ReportMaxAge", ReportMaxAge), ("Retention:TaskArchiveAfter", TaskArchiveAfter)])
        {
            if (age > MaxAge)
            {
                // Now minus an age over about 2,000 years is before year 1: every pass failed with ArgumentOutOfRangeException.
                problems.Add($"{name} must be at most {MaxAge:c} (100 years) (was {age}); 0 keeps for ever.");
            }
        }

        if (Service.Checkpoints.TimerInterval.Problem("Retention:Interval", Interval, "turns the pass off") is { } problem)
        {
            problems.Add(problem);
        }
    }

    private T Unfrozen<T>(T value, [System.Runtime.CompilerServices.CallerMemberName] string setting = "") =>
        _frozen
            ? throw new InvalidOperationException(
                $"StatePersistenceOptions.Retention.{setting} cannot change once the service using these options has started; set it before StartAsync (or create the service with new options).")
            : value;
}
