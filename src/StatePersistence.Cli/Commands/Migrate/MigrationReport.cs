using System.Text.Json.Serialization;
using StatePersistence.FileStore.Migrations;

namespace StatePersistence.Cli.Commands.Migrate;

/// <summary>What <c>statectl migrate status|apply|rollback --json</c> prints.</summary>
internal sealed record MigrationReport(string StateDirectory, string DirectoryVersion, string VersionSource, string CurrentVersion,
    IReadOnlyList<string> PendingSteps, bool Interrupted, string? LastRun, string? LastRunStatus, string? LogFile, bool CanRollBack, string? Outcome,
    string? UnfinishedImport, bool InProgress, int? LockHolderProcessId, IReadOnlyList<string> Blockers)
{
    public static MigrationReport From(MigrationStatus status) =>
        new(status.StatePath, status.DirectoryVersion, status.VersionSource, status.CurrentVersion, status.PendingSteps, status.Interrupted,
            status.LastRun, status.LastRunStatus, status.LogFile, status.CanRollBack, status.Outcome, status.UnfinishedImport, status.InProgress,
            status.LockHolderProcessId, status.Blockers);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(MigrationReport))]
internal sealed partial class MigrationJsonContext : JsonSerializerContext;
