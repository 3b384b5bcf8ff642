using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>What <c>statectl tasks edit --json</c> prints: <c>saved</c> (with the new revision) or <c>unchanged</c>.</summary>
internal sealed record TaskEditReport(string Id, string Outcome, long Revision);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(TaskEditReport))]
internal sealed partial class TaskEditJsonContext : JsonSerializerContext;
