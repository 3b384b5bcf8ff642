using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using StatePersistence.Model;

namespace StatePersistence.Server.Contracts;

/// <summary>
/// How a <c>PUT</c> body reads as a task: as <see cref="ServerJsonContext"/> reads an <see cref="AgentTask"/>, with
/// two differences the route's rules need and the model must not get everywhere else. The store assigns revisions,
/// so a body's <c>revision</c> is skipped whatever its JSON value (null, a string, a number). And <c>id</c> starts
/// null rather than the model's <c>""</c>, so an absent id (the route's) can be told from an empty one (a 400).
/// </summary>
internal static class TaskReplacementJson
{
    public static JsonTypeInfo<AgentTask> Task { get; } = Create();

    private static JsonTypeInfo<AgentTask> Create()
    {
        var options = new JsonSerializerOptions(ServerJsonContext.Default.Options)
        {
            TypeInfoResolver = ServerJsonContext.Default.WithAddedModifier(ForReplacement),
        };
        return (JsonTypeInfo<AgentTask>)options.GetTypeInfo(typeof(AgentTask));
    }

    private static void ForReplacement(JsonTypeInfo info)
    {
        if (info.Type != typeof(AgentTask))
        {
            return;
        }

        info.CreateObject = static () => new AgentTask { Id = null! };
        foreach (JsonPropertyInfo property in info.Properties)
        {
            if (property.Name == "revision")
            {
                property.CustomConverter = SkippedRevision.Instance;
            }
        }
    }

    /// <summary>Reads any JSON value as revision 0 (never committed), which the store replaces with the commit's.</summary>
    private sealed class SkippedRevision : JsonConverter<long>
    {
        public static readonly SkippedRevision Instance = new();

        // Without this a JSON null never reaches Read: the serializer refuses it for a long first.
        public override bool HandleNull => true;

        public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            reader.Skip();
            return 0;
        }

        public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }
}
