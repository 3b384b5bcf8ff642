using System.Text.Json.Serialization;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Archive;

/// <summary>
/// What <c>statectl archive --json</c> prints; <c>archive</c> is null when no new archive was written (nothing to
/// archive, or every task was already in an earlier archive whose run was cut short: <c>earlierArchives</c>), else the
/// first of <c>archives</c> (one per 10,000 tasks or 64 MiB of content). <c>damagedArchives</c>: earlier archives that
/// do not read back whole (<c>archive</c>, <c>problem</c>), whose leftovers an interrupted run left live were kept live
/// (<c>keptLive</c>) and whose live tasks were archived anew (<c>archivedAnew</c>). <c>leftLive</c>: logs and reports whose live
/// copy differs from the archive's (written to during this run, or leftovers of an earlier one); <c>leftLiveUnopened</c>: those whose archived copy did not open (a key the key file
/// lacks), each with why.
/// </summary>
internal sealed record ArchiveReport(string? Archive, IReadOnlyList<string> Archives, bool NothingToArchive, DateTimeOffset CompletedBefore, bool WithLogs, int Tasks,
    IReadOnlyList<string> TaskIds, IReadOnlyList<string> StillLive, int Logs, int Reports, long Bytes, IReadOnlyList<string> EarlierArchives,
    IReadOnlyList<string> LeftLive, IReadOnlyList<string> LeftLiveUnopened, IReadOnlyList<DamagedTaskArchive> DamagedArchives, string? SnapshotFailure);

/// <summary>What <c>statectl archive restore --json</c> prints.</summary>
internal sealed record ArchiveRestoreReport(string Archive, int Tasks, IReadOnlyList<string> TaskIds, int Logs, int Reports, long Revision, string? SnapshotFailure);

/// <summary>
/// What <c>statectl archive list --json</c> prints: each archive's name (what <c>archive restore</c> takes) and where it
/// is; <c>verified</c>: each was read whole (<c>--verify</c>), else only its manifest. With <c>--task</c>, those holding
/// one of the tasks and those whose manifest does not read (<c>tasks</c> null), which could not be searched.
/// </summary>
internal sealed record ArchiveListReport(string Store, bool Verified, IReadOnlyList<ArchiveListEntry> Archives);

/// <summary>
/// One archive of <see cref="ArchiveListReport"/>: <c>tasks</c> and <c>createdAt</c> null when its manifest does not
/// read, <c>problem</c> saying why; under <c>--verify</c>, <c>problem</c> is also why an archive whose manifest reads
/// does not read whole.
/// </summary>
internal sealed record ArchiveListEntry(string Name, string Location, long Bytes, int? Tasks, DateTimeOffset? CreatedAt, string? Problem);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ArchiveReport))]
[JsonSerializable(typeof(ArchiveRestoreReport))]
[JsonSerializable(typeof(ArchiveListReport))]
internal sealed partial class ArchiveCommandJsonContext : JsonSerializerContext;
