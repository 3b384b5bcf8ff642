using System.Text.Json.Serialization;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Migrate;

/// <summary>What <c>statectl migrate status|apply --store postgres --json</c> prints.</summary>
internal sealed record PostgresMigrationReport(string Database, string Schema, int? SchemaVersion, int BuildVersion, bool NewerThanBuild,
    IReadOnlyList<PostgresSchemaVersion> Applied, IReadOnlyList<PostgresSchemaVersion> Pending, int? UpgradingProcessId, string? Outcome)
{
    public static PostgresMigrationReport From(PostgresSchemaStatus status) =>
        new(status.Location, status.Schema, status.SchemaVersion, status.BuildVersion, status.IsNewerThanBuild, status.Applied, status.Pending,
            status.UpgradingProcessId, status.Outcome);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(PostgresMigrationReport))]
internal sealed partial class PostgresMigrationJsonContext : JsonSerializerContext;
