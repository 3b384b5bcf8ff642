using System.Globalization;

namespace StatePersistence.FileStore;

/// <summary>
/// Where everything lives in the state directory: the seed's layout (<c>state.json</c>,
/// <c>state.backup.&lt;timestamp&gt;.json</c>, <c>tasks/</c>, <c>sessions/</c>, <c>logs/</c>, <c>reports/</c>) plus
/// <c>journal/</c> and the <c>.lock</c> file.
/// </summary>
internal sealed class StateLayout(string root)
{
    /// <summary>Suffix of in-progress writes; such a file was never acknowledged and is removed when next listed.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Whether a file name is a temp file: one never renamed into place, so never acknowledged.</summary>
    public static bool IsTempFile(string fileName) => fileName.EndsWith(TempSuffix, StringComparison.Ordinal);

    private long _tempCounter;

    /// <summary>
    /// A temp path beside <paramref name="path"/> that no other write of this process uses
    /// (<c>&lt;name&gt;.&lt;n&gt;.tmp</c>): two writers of one file must never truncate or rename each other's
    /// half-written temp file. A counter rather than a random name keeps the sequence of file operations
    /// reproducible; another process's leftovers cannot collide with a live write, since one process at a time holds
    /// the directory and start-up removes them.
    /// </summary>
    public string NextTempPath(string path) =>
        path + "." + Interlocked.Increment(ref _tempCounter).ToString(CultureInfo.InvariantCulture) + TempSuffix;

    /// <summary>Marker in the names of quarantined files.</summary>
    public const string CorruptMarker = ".corrupt.";

    private const string TimestampFormat = "yyyyMMdd'T'HHmmss'-'fffffff'Z'";

    /// <summary>The state directory.</summary>
    public string Root { get; } = root;

    /// <summary><c>state.json</c>.</summary>
    public string StateFile => Path.Combine(Root, "state.json");

    /// <summary><c>tasks/</c>.</summary>
    public string TasksDirectory => Path.Combine(Root, "tasks");

    /// <summary><c>sessions/</c>.</summary>
    public string SessionsDirectory => Path.Combine(Root, "sessions");

    /// <summary><c>logs/</c>.</summary>
    public string LogsDirectory => Path.Combine(Root, "logs");

    /// <summary><c>reports/</c>.</summary>
    public string ReportsDirectory => Path.Combine(Root, "reports");

    /// <summary><c>journal/</c>.</summary>
    public string JournalDirectory => Path.Combine(Root, "journal");

    /// <summary>The lock file.</summary>
    public string LockFile => Path.Combine(Root, ".lock");

    /// <summary>Who holds the lock, written by the holder.</summary>
    public string LockOwnerFile => Path.Combine(Root, ".lock.owner");

    /// <summary>The last recovery report, written when recovery found corruption or loss, or dropped or cut any bytes (torn tails included).</summary>
    public string RecoveryReportFile => Path.Combine(Root, "recovery-report.json");

    /// <summary><c>journal-head.json</c>: the newest journal segment started (see <see cref="Journal.JournalHead"/>).</summary>
    public string JournalHeadFile => Path.Combine(Root, Journal.JournalHead.FileName);

    /// <summary>
    /// <c>import-in-progress.json</c>: written (durably) before an import writes its first file and removed after its
    /// last; while it is there the directory holds part of an archive, and opening it is refused.
    /// </summary>
    public string ImportMarkerFile => Path.Combine(Root, "import-in-progress.json");

    /// <summary>Every directory the store creates.</summary>
    public IEnumerable<string> Directories => [TasksDirectory, SessionsDirectory, LogsDirectory, ReportsDirectory, JournalDirectory];

    /// <summary><c>tasks/&lt;id&gt;.json</c>.</summary>
    public string TaskFile(string id) => Path.Combine(TasksDirectory, id + ".json");

    /// <summary><c>sessions/&lt;id&gt;.json</c>.</summary>
    public string SessionFile(string id) => Path.Combine(SessionsDirectory, id + ".json");

    /// <summary><c>logs/session_&lt;id&gt;.log</c>.</summary>
    public string SessionLogFile(string id) => Path.Combine(LogsDirectory, "session_" + id + ".log");

    /// <summary>
    /// <c>logs/session_&lt;id&gt;.log.&lt;part&gt;</c>: a part the retention policy rotated out of the live log, 1 the
    /// newest; a log reads as its parts from the highest number down, then the live log.
    /// </summary>
    public string SessionLogPart(string id, int part) =>
        part == 0 ? SessionLogFile(id) : SessionLogFile(id) + "." + part.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses a file name in <c>logs/</c>: <c>session_&lt;id&gt;.log</c> (part 0, the live log) or a rotated part
    /// <c>session_&lt;id&gt;.log.&lt;n&gt;</c> (n from 1, no leading zero). False for markers, temp, quarantined and
    /// foreign files. The id is not validated.
    /// </summary>
    public static bool TryParseSessionLogName(string name, out string id, out int part)
    {
        id = "";
        part = 0;
        if (!name.StartsWith("session_", StringComparison.Ordinal))
        {
            return false;
        }

        if (name.EndsWith(".log", StringComparison.Ordinal))
        {
            id = name["session_".Length..^".log".Length];
            return true;
        }

        int marker = name.LastIndexOf(".log.", StringComparison.Ordinal);
        if (marker < "session_".Length)
        {
            return false;
        }

        string number = name[(marker + ".log.".Length)..];
        if (number.Length is 0 or > 9 || number[0] == '0' || !number.All(char.IsAsciiDigit))
        {
            return false;
        }

        id = name["session_".Length..marker];
        part = int.Parse(number, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary><c>reports/report_&lt;id&gt;.json</c>.</summary>
    public string ReportFile(string id) => Path.Combine(ReportsDirectory, "report_" + id + ".json");

    /// <summary><c>journal/&lt;number&gt;.wal</c>.</summary>
    public string JournalSegment(long number) => Path.Combine(JournalDirectory, number.ToString("D10", CultureInfo.InvariantCulture) + ".wal");

    /// <summary><c>state.backup.&lt;timestamp&gt;.json</c>.</summary>
    public string BackupFile(string timestamp) => Path.Combine(Root, "state.backup." + timestamp + ".json");

    /// <summary>Formats a time for file names; lexical order is chronological.</summary>
    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    /// <summary>Parses a file-name timestamp.</summary>
    public static bool TryParseTimestamp(string text, out DateTimeOffset time)
    {
        bool ok = DateTime.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime parsed);
        time = ok ? new DateTimeOffset(parsed, TimeSpan.Zero) : default;
        return ok;
    }

    /// <summary>The timestamp part of a backup file name, or null when the name is not a backup's.</summary>
    public static string? BackupTimestamp(string fileName) =>
        fileName.StartsWith("state.backup.", StringComparison.Ordinal) && fileName.EndsWith(".json", StringComparison.Ordinal)
            && !fileName.Contains(CorruptMarker, StringComparison.Ordinal)
            ? fileName["state.backup.".Length..^".json".Length]
            : null;

    /// <summary>The id in an item file name (<c>&lt;id&gt;.json</c>), or null for temp, quarantined or foreign files.</summary>
    public static string? ItemId(string fileName) => IsItemFile(fileName) ? fileName[..^".json".Length] : null;

    /// <summary>Whether <paramref name="fileName"/> has the form <see cref="ItemId"/> reads, told without allocating.</summary>
    public static bool IsItemFile(string fileName) =>
        fileName.EndsWith(".json", StringComparison.Ordinal) && fileName.IndexOf('.') == fileName.Length - ".json".Length;

    /// <summary>
    /// Where a corrupt file is moved: <c>&lt;name&gt;.corrupt.&lt;timestamp&gt;.json</c> beside it (the original
    /// extension is kept before the marker for files that are not JSON).
    /// </summary>
    public static string QuarantinePath(string path, DateTimeOffset time)
    {
        string directory = Path.GetDirectoryName(path)!;
        string name = Path.GetFileName(path);
        string stem = name.EndsWith(".json", StringComparison.Ordinal) ? name[..^".json".Length] : name;
        return Path.Combine(directory, stem + CorruptMarker + Timestamp(time) + ".json");
    }
}
