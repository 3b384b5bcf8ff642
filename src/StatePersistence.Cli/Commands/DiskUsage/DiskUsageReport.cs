using System.Text.Json.Serialization;
using StatePersistence.FileStore;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.DiskUsage;

/// <summary>What <c>statectl du --json</c> prints.</summary>
internal sealed record DiskUsageReport(string StateDirectory, IReadOnlyList<DiskUsageKindReport> Kinds, long TotalFiles, long TotalBytes)
{
    public static DiskUsageReport From(StateDiskUsage usage) =>
        new(usage.StateDirectory, [.. usage.Kinds.Select(k => new DiskUsageKindReport(k.Kind, k.Files, k.Bytes))], usage.TotalFiles, usage.TotalBytes);
}

/// <summary>One kind in <see cref="DiskUsageReport"/>.</summary>
internal sealed record DiskUsageKindReport(string Kind, long Files, long Bytes);

/// <summary>What <c>statectl du --store postgres --json</c> prints: <c>database</c> is the store's URL without credentials.</summary>
internal sealed record PostgresDiskUsageReport(string Database, long Revision, IReadOnlyList<PostgresKindUsage> Kinds,
    IReadOnlyList<PostgresRelationUsage> Tables, long TotalBytes)
{
    public static PostgresDiskUsageReport From(PostgresStoreUsage usage) => new(usage.Location, usage.Revision, usage.Kinds, usage.Relations, usage.TotalBytes);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DiskUsageReport))]
[JsonSerializable(typeof(PostgresDiskUsageReport))]
internal sealed partial class DiskUsageJsonContext : JsonSerializerContext;
