using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Commands.Archive;

/// <summary>What <c>statectl archive --json</c> prints; <c>archive</c> is null when there was nothing to archive.</summary>
internal sealed record ArchiveReport(string? Archive, bool NothingToArchive, DateTimeOffset CompletedBefore, bool WithLogs, int Tasks,
    IReadOnlyList<string> TaskIds, IReadOnlyList<string> StillLive, int Logs, int Reports, long Bytes);

/// <summary>What <c>statectl archive restore --json</c> prints.</summary>
internal sealed record ArchiveRestoreReport(string Archive, int Tasks, IReadOnlyList<string> TaskIds, int Logs, int Reports, long Revision);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ArchiveReport))]
[JsonSerializable(typeof(ArchiveRestoreReport))]
internal sealed partial class ArchiveCommandJsonContext : JsonSerializerContext;
