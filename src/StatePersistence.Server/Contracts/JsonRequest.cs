using System.Text.Json;
using System.Text.Json.Serialization;

namespace StatePersistence.Server.Contracts;

/// <summary>
/// A request body. Fields the route does not know are collected and refused (400 naming the field) rather than
/// ignored: a misspelt <c>stauts</c> should fail loudly, not leave the status unchanged.
/// </summary>
internal abstract class JsonRequest
{
    /// <summary>Fields of the body that match no property.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? UnknownFields { get; set; }

    /// <summary>The fields this request accepts, for the error message.</summary>
    [JsonIgnore]
    public abstract IReadOnlyList<string> AcceptedFields { get; }
}
