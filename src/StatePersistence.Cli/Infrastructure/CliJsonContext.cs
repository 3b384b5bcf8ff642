using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>The shared JSON shapes of every command (each command group keeps its own context beside it).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(CommandError))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
