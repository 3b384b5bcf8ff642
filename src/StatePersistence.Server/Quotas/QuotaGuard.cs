using System.Text;
using Microsoft.Extensions.Options;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Quotas;

/// <summary>
/// Checks a write against <see cref="QuotaOptions"/> before it is made, throwing the problem that names the limit.
/// Counts are checked before a create, so creates racing at the limit can pass it by how many raced; sizes are
/// checked inside the atomic update, on the very version that would be stored.
/// </summary>
internal sealed partial class QuotaGuard(IOptions<QuotaOptions> options, IStatePersistence state, TimeProvider time, RefusedRequests refused,
    ILogger<QuotaGuard> logger)
{
    // How long a reading of the free space may be reused by the per-write check while it is far above the floor: a
    // statfs per write was a measurable share of a save's CPU under load, and a second of writes cannot cross the
    // margin the reuse requires (free space at least twice the floor). Near the floor every write reads it anew.
    private static readonly TimeSpan FreeSpaceReuse = TimeSpan.FromSeconds(1);

    private readonly QuotaOptions _limits = options.Value;
    private FreeSpaceReading? _lastReading;

    public QuotaOptions Limits => _limits;

    /// <summary>Free bytes on the state volume, or null when they cannot be read.</summary>
    public long? FreeDiskBytes()
    {
        try
        {
            return new DriveInfo(state.Location).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// 507 when the free space is below the floor; counted, and logged as a spell (the first whole, then summed up), so
    /// that an operator learns from the log, not only from <c>/health</c>, that writes are being refused.
    /// </summary>
    public void CheckDisk()
    {
        if (_limits.MinFreeDiskBytes > 0 && FreeDiskBytesForWrite() is { } free && free < _limits.MinFreeDiskBytes)
        {
            if (refused.LogWhole(RefusedRequests.DiskFloor, StatusCodes.Status507InsufficientStorage,
                $"the state volume has {free} bytes free, below the floor of {_limits.MinFreeDiskBytes}"))
            {
                LogDiskFloor(logger, free, _limits.MinFreeDiskBytes);
            }

            throw Full("MinFreeDiskBytes", _limits.MinFreeDiskBytes,
                $"The state volume has {free} bytes free, below the floor of {_limits.MinFreeDiskBytes}; writes are refused before the disk fills.");
        }
    }

    public void CheckNewTask() => CheckCount("MaxTasks", _limits.MaxTasks, state.TaskCount, "tasks");

    public void CheckNewSession() => CheckCount("MaxSessions", _limits.MaxSessions, state.SessionCount, "sessions");

    public async Task CheckNewReportAsync(string id, CancellationToken cancellationToken)
    {
        // The count is the store's (kept, not listed); a report saved again under its id adds none, so only at the
        // limit does it matter whether the id is taken.
        if (_limits.MaxReports > 0 && await state.CountReportsAsync(cancellationToken) is var count && count >= _limits.MaxReports
            && !await ReportExistsAsync(id, cancellationToken))
        {
            CheckCount("MaxReports", _limits.MaxReports, count, "reports");
        }
    }

    /// <summary>
    /// Whether a report has <paramref name="id"/>. One whose stored copy does not open (a damaged PostgreSQL row, a key
    /// the ring lacks: the store has already raised and listed it) exists: the save replaces it, and adds none.
    /// </summary>
    private async Task<bool> ReportExistsAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await state.LoadReportAsync(id, cancellationToken) is not null;
        }
        catch (Errors.StatePersistenceException ex) when (ex is Errors.StateFormatException or Errors.StateStorageException { IsTransient: false })
        {
            return true;
        }
    }

    /// <summary>
    /// 413 when the task, as it would be stored, is too large or has too many log entries. A caller that knows its
    /// stored JSON cannot be larger than <paramref name="sizeAtMost"/> bytes (<see cref="ReplacementSizeAtMost"/>)
    /// passes that, and the task is only serialized to be measured when the bound does not already clear the limit.
    /// </summary>
    public void CheckTask(AgentTask task, long sizeAtMost = long.MaxValue)
    {
        if (_limits.MaxTaskLogEntries > 0 && task.Logs?.Count > _limits.MaxTaskLogEntries)
        {
            throw TooLarge("MaxTaskLogEntries", _limits.MaxTaskLogEntries,
                $"The task '{task.Id}' would have {task.Logs.Count} log entries; the limit is {_limits.MaxTaskLogEntries}.");
        }

        if (_limits.MaxTaskBytes > 0 && sizeAtMost > _limits.MaxTaskBytes)
        {
            CheckSize("MaxTaskBytes", _limits.MaxTaskBytes, StoredSize(task), $"The task '{task.Id}'");
        }
    }

    /// <summary>
    /// The most bytes a task made from a request body of <paramref name="bodyBytes"/> (a whole task, <c>PUT</c>) can
    /// take as stored JSON. Every stored value but the id, the revision, the timestamps the server sets and the
    /// defaults it fills (status, an empty log) comes from the body, and writing JSON grows no byte of it more than
    /// six times (the widest escape, <c>\u003C</c>, stands for one input byte; whitespace and nulls are dropped;
    /// numbers and timestamps keep their length or grow by a few bytes in a form that is many bytes long already).
    /// <see cref="FixedAllowance"/> covers the rest with room to spare.
    /// </summary>
    public static long ReplacementSizeAtMost(long? bodyBytes, string id) =>
        bodyBytes is { } length ? (6 * length) + (6L * id.Length) + FixedAllowance : long.MaxValue;

    // "revision", "id", "status", "created_at", "updated_at" and "logs" with their punctuation: under 200 bytes.
    private const long FixedAllowance = 512;

    public void CheckSession(SessionInfo session) =>
        CheckSize("MaxSessionBytes", _limits.MaxSessionBytes, StoredSize(session), $"The session '{session.Id}'");

    // The server's context writes the model as the core stores it (same naming, null handling and timestamps), so
    // this is the size of the item's JSON on disk, before the revision the commit stamps into it.
    private static long StoredSize(AgentTask task) => Quotas.StoredSize.Of(task, ServerJsonContext.Default.AgentTask);

    private static long StoredSize(SessionInfo session) => Quotas.StoredSize.Of(session, ServerJsonContext.Default.SessionInfo);

    public void CheckLogMessage(string message) =>
        CheckSize("MaxLogMessageBytes", _limits.MaxLogMessageBytes, Encoding.UTF8.GetByteCount(message), "The log message");

    /// <summary>
    /// The same limit on every entry of a whole task's log (<c>PUT</c>), so a message refused on its own by a log
    /// append cannot be stored inside a replacement; the problem names the entry.
    /// </summary>
    public void CheckLogMessages(IReadOnlyList<TaskLogEntry> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            // A UTF-16 char is at most three UTF-8 bytes: most messages clear the limit without being measured.
            string message = entries[i].Message ?? "";
            if (_limits.MaxLogMessageBytes > 0 && 3L * message.Length > _limits.MaxLogMessageBytes)
            {
                CheckSize("MaxLogMessageBytes", _limits.MaxLogMessageBytes, Encoding.UTF8.GetByteCount(message), $"The log message logs[{i}].message");
            }
        }
    }

    /// <summary>
    /// Refuses an append that would take the session's log past its limit: the log's size as the store holds it (its
    /// framing included, as <c>/health</c>'s <c>bytes_logs</c> counts it, so more than the text a <c>GET</c> returns)
    /// plus the new text. Measuring the stored size needs no read of the log; the new append's own framing is the
    /// store's business, so the stored log can pass the limit by at most that.
    /// </summary>
    public async ValueTask CheckSessionLogAppendAsync(string sessionId, int appendBytes, CancellationToken cancellationToken)
    {
        if (_limits.MaxSessionLogBytes > 0)
        {
            long current = await state.SessionLogSizeAsync(sessionId, cancellationToken);
            if (current + appendBytes > _limits.MaxSessionLogBytes)
            {
                throw TooLarge("MaxSessionLogBytes", _limits.MaxSessionLogBytes,
                    $"The log of session '{sessionId}' takes {current} bytes as stored (the store's framing included, so more than the text a GET returns); " +
                    $"appending {appendBytes} bytes of text would pass the limit of {_limits.MaxSessionLogBytes}.");
            }
        }
    }

    private long? FreeDiskBytesForWrite()
    {
        DateTimeOffset now = time.GetUtcNow();
        // A reading at least twice the floor is reused for a while; the reading is halved rather than the floor doubled,
        // which overflowed for a floor above long.MaxValue / 2 (every reading was then reused).
        if (Volatile.Read(ref _lastReading) is { } last && now - last.At < FreeSpaceReuse && last.Bytes / 2 >= _limits.MinFreeDiskBytes)
        {
            return last.Bytes;
        }

        long? free = FreeDiskBytes();
        Volatile.Write(ref _lastReading, free is { } bytes ? new FreeSpaceReading(bytes, now) : null);
        return free;
    }

    private sealed record FreeSpaceReading(long Bytes, DateTimeOffset At);

    [LoggerMessage(7135, LogLevel.Warning, "Writes are refused (507): the state volume has {Free} bytes free, below the floor of {Floor} (StatePersistence:Server:Quotas:MinFreeDiskBytes); free space or lower the floor")]
    private static partial void LogDiskFloor(ILogger logger, long free, long floor);

    private static void CheckCount(string setting, long limit, long count, string what)
    {
        if (limit > 0 && count >= limit)
        {
            throw Full(setting, limit, $"The server holds {count} {what}, its limit; delete some or raise the limit.");
        }
    }

    private static void CheckSize(string setting, long limit, long size, string what)
    {
        if (limit > 0 && size > limit)
        {
            throw TooLarge(setting, limit, $"{what} would be {size} bytes; the limit is {limit}.");
        }
    }

    private static ApiProblemException TooLarge(string setting, long limit, string detail) =>
        Refusal(StatusCodes.Status413PayloadTooLarge, "Quota exceeded", setting, limit, detail);

    private static ApiProblemException Full(string setting, long limit, string detail) =>
        Refusal(StatusCodes.Status507InsufficientStorage, "Insufficient storage", setting, limit, detail);

    private static ApiProblemException Refusal(int status, string title, string setting, long limit, string detail)
    {
        string name = QuotaOptions.Section + ":" + setting;
        string text = $"{detail} Nothing was stored ({name}).";
        return new ApiProblemException(ApiProblems.Problem(status, title, text,
            more: new Dictionary<string, object?> { ["limit"] = name, ["limit_value"] = limit }), text);
    }
}
