using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>
/// What <c>statectl tasks edit --json</c> prints: <c>saved</c> (with the new revision) or <c>unchanged</c>;
/// <c>snapshotFailure</c>: why the snapshot after a saved edit failed (the edit is durable all the same), else null.
/// </summary>
internal sealed record TaskEditReport(string Id, string Outcome, long Revision, string? SnapshotFailure = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(TaskEditReport))]
internal sealed partial class TaskEditJsonContext : JsonSerializerContext;
