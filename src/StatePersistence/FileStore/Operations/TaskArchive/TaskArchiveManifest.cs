using System.Text.Json.Serialization;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// <c>manifest.json</c>, the first entry of a task archive: what was archived and why, and the length and SHA-256 of
/// every other entry, so a damaged or truncated archive is told apart from a good one before anything is restored.
/// <c>sealed</c>: the store encrypted when it wrote the archive, so every entry but the manifest is sealed with its
/// key ring (the manifest holds ids, statuses, revisions and times, like file names; never content).
/// </summary>
internal sealed record TaskArchiveManifest(
    string Format,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedBefore,
    bool WithLogs,
    IReadOnlyList<ArchivedTask> Tasks,
    IReadOnlyList<ArchiveEntry> Entries,
    bool Sealed = false)
{
    /// <summary>The value of <see cref="Format"/>.</summary>
    public const string FormatName = "statepersistence-task-archive";

    /// <summary>The only version written and read so far.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The manifest's entry name.</summary>
    public const string EntryName = "manifest.json";

    /// <summary>A task's entry name.</summary>
    public static string TaskEntry(string id) => "tasks/" + id + ".json";

    /// <summary>A session log's entry name (its text, as <c>ReadSessionLogAsync</c> returns it).</summary>
    public static string LogEntry(string sessionId) => "logs/session_" + sessionId + ".log";

    /// <summary>A report's entry name.</summary>
    public static string ReportEntry(string reportId) => "reports/report_" + reportId + ".json";

    /// <summary>The payload kind an entry is sealed as (by its folder), when the archive is <see cref="Sealed"/>.</summary>
    public static Serialization.PayloadKind KindOf(string entry) =>
        entry.StartsWith("tasks/", StringComparison.Ordinal) ? Serialization.PayloadKind.Task
        : entry.StartsWith("logs/", StringComparison.Ordinal) ? Serialization.PayloadKind.SessionLogAppend
        : Serialization.PayloadKind.Report;
}

/// <summary>One archived task: its id, status and revision, which time made it old enough, and the files it took along.</summary>
internal sealed record ArchivedTask(string Id, string? Status, long Revision, string AgeField, DateTimeOffset Age,
    IReadOnlyList<string> SessionLogs, IReadOnlyList<string> Reports);

/// <summary>One entry besides the manifest, with its length and SHA-256 (lower-case hex).</summary>
internal sealed record ArchiveEntry(string Name, long Length, string Sha256);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(TaskArchiveManifest))]
internal sealed partial class TaskArchiveJsonContext : JsonSerializerContext;
