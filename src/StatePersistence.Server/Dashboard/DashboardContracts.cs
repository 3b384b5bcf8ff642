using System.Text.Json.Serialization;
using StatePersistence.Server.Contracts;

namespace StatePersistence.Server.Dashboard;

/// <summary>What the dashboard's overview shows, in one answer.</summary>
internal sealed record DashboardOverview(
    IReadOnlyDictionary<string, int> StatusCounts,
    int TaskCount,
    int SessionCount,
    double SavesPerSecond,
    long Revision,
    DateTimeOffset? LastSaveTime,
    double? LastSaveAgeSeconds,
    string Health,
    IReadOnlyList<string> HealthReasons,
    long? DiskFreeBytes,
    IReadOnlyDictionary<string, long> DiskBytes,
    IReadOnlyList<BackupFile> Backups);

/// <summary>One <c>state.backup.*.json</c>.</summary>
internal sealed record BackupFile(string Name, long Bytes, DateTimeOffset SavedAt);

/// <summary>One row of the dashboard's task list (the task without its logs and result).</summary>
internal sealed record TaskRow(string Id, string? Description, string? Status, string? Tool, DateTimeOffset? UpdatedAt);

/// <summary>
/// One page of the dashboard's task list, with the number of tasks the filters match; <paramref name="NextOffset"/>,
/// when the page was cut short by its bytes, is the position (from 0) of its first task not sent: ask for
/// <c>offset=</c> it to go on.
/// </summary>
internal sealed record TaskPage(int Total, int Page, int Size, IReadOnlyList<TaskRow> Tasks, long? NextOffset);

/// <summary>Source-generated JSON for the dashboard's answers, in the server's conventions.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(IsoTimestampConverter)])]
[JsonSerializable(typeof(DashboardOverview))]
[JsonSerializable(typeof(TaskPage))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;
