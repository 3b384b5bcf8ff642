using System.Text.Json.Serialization;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// <c>pre-migration/manifest.json</c>: the record of a migration run and of its backup. Written (atomically) once
/// every copy is durable, before the first file is changed, so its presence proves the backup complete; its status
/// then says where the run stands.
/// </summary>
internal sealed class MigrationManifest
{
    /// <summary>The run has changed, or may have changed, files and has not finished: the next open rolls it back.</summary>
    public const string Migrating = "migrating";

    /// <summary>The run finished and was validated.</summary>
    public const string Applied = "applied";

    /// <summary>
    /// A rollback has started restoring files and has not finished: like <see cref="Migrating"/>, the files may be
    /// neither state, so the next open (or rollback) finishes the rollback before anything else; never a new backup.
    /// </summary>
    public const string RollingBack = "rolling-back";

    /// <summary>The run was rolled back; the directory is as it was before it.</summary>
    public const string RolledBack = "rolled-back";

    public required string From { get; set; }

    public required string To { get; set; }

    public required string Status { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>
    /// The folder, relative to the state directory (<c>rolled-back.&lt;timestamp&gt;</c>), that a rollback of an
    /// applied run moves what it discards into: every file changed or created since the backup (tasks saved after the
    /// migration, the server's backups, files moved aside as corrupt). Chosen when the rollback starts and kept in
    /// the manifest, so a rollback cut short and finished later moves into the same folder. Null for the rollback of
    /// a run that never finished: what it discards is only that run's own output, rebuilt from the copies.
    /// </summary>
    public string? DiscardedTo { get; set; }

    /// <summary>Every file of the directory before the run, relative to it, with what restores it exactly.</summary>
    public List<BackedUpFile> Files { get; set; } = [];

    /// <summary>The directories' Unix modes before the run, when known (a rollback puts them back too).</summary>
    public List<BackedUpDirectory> Directories { get; set; } = [];
}

/// <summary>A directory's Unix mode (octal) before the migration.</summary>
internal sealed record BackedUpDirectory(string Path, string Mode);

/// <summary>One file as it was before the migration: its bytes' length and SHA-256, and its Unix mode (octal) when known.</summary>
internal sealed record BackedUpFile(string Path, long Length, string Sha256, string? Mode);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MigrationManifest))]
internal sealed partial class MigrationJsonContext : JsonSerializerContext;
