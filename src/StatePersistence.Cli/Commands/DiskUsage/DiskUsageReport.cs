using System.Text.Json.Serialization;
using StatePersistence.FileStore;

namespace StatePersistence.Cli.Commands.DiskUsage;

/// <summary>What <c>statectl du --json</c> prints.</summary>
internal sealed record DiskUsageReport(string StateDirectory, IReadOnlyList<DiskUsageKindReport> Kinds, long TotalFiles, long TotalBytes)
{
    public static DiskUsageReport From(StateDiskUsage usage) =>
        new(usage.StateDirectory, [.. usage.Kinds.Select(k => new DiskUsageKindReport(k.Kind, k.Files, k.Bytes))], usage.TotalFiles, usage.TotalBytes);
}

/// <summary>One kind in <see cref="DiskUsageReport"/>.</summary>
internal sealed record DiskUsageKindReport(string Kind, long Files, long Bytes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DiskUsageReport))]
internal sealed partial class DiskUsageJsonContext : JsonSerializerContext;
