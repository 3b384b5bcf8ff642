using System.Text;
using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Tests.Model;

public sealed class SerializationTests
{
    private const string SeedTask = """
        {
          "id": "task_1234567890",
          "description": "Implement authentication",
          "status": "completed",
          "tool": "CLAUDECODE",
          "created_at": "2024-01-01T10:00:00Z",
          "updated_at": "2024-01-01T11:30:00Z",
          "started_at": "2024-01-01T10:05:00Z",
          "completed_at": "2024-01-01T11:30:00Z",
          "logs": [
            { "timestamp": "2024-01-01T10:05:00Z", "level": "info", "type": "system", "message": "Task started" }
          ],
          "result": { "files_created": ["auth.js", "auth.test.js"], "tests_passed": true }
        }
        """;

    [Fact]
    public void SeedTaskExample_RoundTripsWithSameFieldsAndValues()
    {
        AgentTask task = ItemCodec.DeserializeTask(Encoding.UTF8.GetBytes(SeedTask));
        byte[] written = ItemCodec.Serialize(task);

        using JsonDocument expected = JsonDocument.Parse(SeedTask);
        using JsonDocument actual = JsonDocument.Parse(written);
        Assert.True(JsonElement.DeepEquals(expected.RootElement, actual.RootElement), Encoding.UTF8.GetString(written));
    }

    [Fact]
    public void UnknownProperties_RoundTripLosslessly_InTasksLogsAndState()
    {
        string json = """{"id":"t1","priority":5,"labels":["a","b"],"owner":{"name":"n"},"logs":[{"message":"m","span_id":"abc"}]}""";
        AgentTask task = ItemCodec.DeserializeTask(Encoding.UTF8.GetBytes(json));

        string written = Encoding.UTF8.GetString(ItemCodec.Serialize(task));

        Assert.Contains("\"priority\":5", written, StringComparison.Ordinal);
        Assert.Contains("\"labels\":[\"a\",\"b\"]", written, StringComparison.Ordinal);
        Assert.Contains("\"owner\":{\"name\":\"n\"}", written, StringComparison.Ordinal);
        Assert.Contains("\"span_id\":\"abc\"", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z")]
    [InlineData("2024-01-01T10:00:00", "2024-01-01T10:00:00Z")]
    [InlineData("2024-01-01T10:00:00.5Z", "2024-01-01T10:00:00.5Z")]
    public void Timestamps_AreWrittenAsIso8601Utc(string input, string output)
    {
        AgentTask task = ItemCodec.DeserializeTask(Encoding.UTF8.GetBytes($$"""{"id":"t","created_at":"{{input}}"}"""));

        Assert.Contains($"\"created_at\":\"{output}\"", Encoding.UTF8.GetString(ItemCodec.Serialize(task)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"id":"t","logs":"not an array"}""")]
    [InlineData("""{"id":"t","created_at":"yesterday"}""")]
    [InlineData("""{"id":5}""")]
    [InlineData("""[1,2]""")]
    public void WrongTypes_AreRejected(string json) =>
        Assert.ThrowsAny<JsonException>(() => ItemCodec.TaskItem(Encoding.UTF8.GetBytes(json)));
}
