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

    /// <summary>
    /// Fields the body sent as JSON <c>null</c>, which a merge patch (<see cref="Http.MergePatch"/>) reads as "remove",
    /// unlike an absent field; the properties that can be removed or refused record themselves here.
    /// </summary>
    [JsonIgnore]
    public HashSet<string> NullFields { get; } = new(StringComparer.Ordinal);

    /// <summary>The fields this request accepts, for the error message.</summary>
    [JsonIgnore]
    public abstract IReadOnlyList<string> AcceptedFields { get; }

    /// <summary>A property's setter: the value, noting the field in <see cref="NullFields"/> when it is null.</summary>
    protected T Noted<T>(string field, T value)
    {
        if (value is null or JsonElement { ValueKind: JsonValueKind.Null })
        {
            NullFields.Add(field);
        }

        return value;
    }
}
