using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace StatePersistence.Benchmarks.Results;

/// <summary>Source-generated JSON for the results file: snake_case, indented, nulls left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(BenchReport))]
public sealed partial class ReportJsonContext : JsonSerializerContext
{
    /// <summary>The report as indented JSON.</summary>
    public static string ToJson(BenchReport report)
    {
        // The file is read by people and tools, never embedded in HTML: keep ' and + as they are.
        var options = new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var typeInfo = (JsonTypeInfo<BenchReport>)options.GetTypeInfo(typeof(BenchReport));
        return JsonSerializer.Serialize(report, typeInfo);
    }
}
