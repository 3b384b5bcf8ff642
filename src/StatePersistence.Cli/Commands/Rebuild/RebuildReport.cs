using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Commands.Rebuild;

/// <summary>What <c>statectl rebuild --json</c> prints.</summary>
internal sealed record RebuildReport(int Tasks, int Sessions, IReadOnlyList<string> AddedTasks, IReadOnlyList<string> DroppedTasks,
    IReadOnlyList<string> AddedSessions, IReadOnlyList<string> DroppedSessions, string? PreviousStateBackup,
    IReadOnlyList<QuarantineReport> Quarantined, IReadOnlyList<string> Lost, IReadOnlyList<DroppedBytesReport> DroppedBytes,
    IReadOnlyList<string> Warnings);

/// <summary>
/// Bytes of a journal segment or session log the rebuild's recovery dropped as damaged (the records or appends in them
/// are gone from the state; <c>keptAs</c> names a copy when one was kept).
/// </summary>
internal sealed record DroppedBytesReport(string Path, long Offset, long Length, string Reason, string? KeptAs);

/// <summary>A file the rebuild moved aside as corrupt.</summary>
internal sealed record QuarantineReport(string Path, string MovedTo, string Reason);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(RebuildReport))]
internal sealed partial class RebuildJsonContext : JsonSerializerContext;
