using System.Text.Json;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Operations;

/// <summary>A parsed snapshot or backup as the whole state it holds (what <c>SaveStateAsync</c> takes).</summary>
internal static class BackupContent
{
    public static PersistedState ToState(SnapshotContent content) => new()
    {
        Revision = content.View.Revision,
        Tasks = [.. content.View.Tasks.Values.Select(i => ItemCodec.DeserializeTask(i.Json))],
        Sessions = [.. content.View.Sessions.Values.Select(i => ItemCodec.DeserializeSession(i.Json))],
        LastSaved = content.LastSaved,
        ExtensionData = content.View.Extras is null
            ? null
            : JsonSerializer.Deserialize(content.View.Extras, StateJsonContext.Default.DictionaryStringJsonElement),
    };
}
