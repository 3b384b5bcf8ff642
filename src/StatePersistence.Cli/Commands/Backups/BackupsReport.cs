using System.Text.Json.Serialization;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Backups;

/// <summary>
/// What <c>statectl backups list --json</c> prints: <c>nodeBackups</c>, the original Node implementation's backups of
/// a directory not migrated yet, apart from <c>backups</c> (no restore takes them until <c>migrate apply</c> renames them).
/// </summary>
internal sealed record BackupListReport(string StateDirectory, IReadOnlyList<BackupReport> Backups, IReadOnlyList<NodeBackupReport> NodeBackups);

/// <summary>One backup in <see cref="BackupListReport.NodeBackups"/>: its name, the time in its name, its size.</summary>
internal sealed record NodeBackupReport(string Name, DateTimeOffset Time, long Bytes);

/// <summary>One backup in <see cref="BackupListReport"/>; the counts are null when it does not parse.</summary>
internal sealed record BackupReport(string Name, DateTimeOffset Time, long Bytes, bool Parses, long? Revision,
    DateTimeOffset? LastSaved, int? Tasks, int? Sessions, string? Problem)
{
    public static BackupReport From(StateBackupInfo info) =>
        new(info.Name, info.Time, info.Bytes, info.Parses, info.Revision, info.LastSaved, info.Tasks, info.Sessions, info.Problem);
}

/// <summary>What <c>statectl backups restore --json</c> prints; <c>snapshotFailure</c> is null unless the snapshot after the committed restore failed.</summary>
internal sealed record RestoreReport(string Restored, long RestoredFromRevision, string? PreviousStateBackup, int Tasks, int Sessions, long Revision,
    string? SnapshotFailure);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(BackupListReport))]
[JsonSerializable(typeof(RestoreReport))]
internal sealed partial class BackupsJsonContext : JsonSerializerContext;
