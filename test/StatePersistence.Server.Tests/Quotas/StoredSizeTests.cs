using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Quotas;

namespace StatePersistence.Server.Tests.Quotas;

/// <summary>
/// The quota's size of a task is exactly the length of the JSON the serializer would produce, though it keeps none
/// of it: across the scratch buffer's size, with escaped and non-ASCII text, and with fields the application added.
/// </summary>
public sealed class StoredSizeTests
{
    public static TheoryData<int, string> Texts => new()
    {
        { 0, "d" },
        { 4095, "x" },
        { 4096, "x" },
        { 70_000, "x" },
        { 3000, "é<\"\\\n\u2028😀" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void ATasksSize_IsTheLengthOfItsSerializedJson(int repeat, string text)
    {
        var task = new AgentTask
        {
            Id = "t1",
            Description = string.Concat(Enumerable.Repeat(text, Math.Max(1, repeat))),
            Status = TaskStatuses.InProgress,
            CreatedAt = DateTimeOffset.Parse("2026-12-02T05:00:00.123Z", System.Globalization.CultureInfo.InvariantCulture),
            Logs = [new TaskLogEntry { Level = "info", Type = "step", Message = text, Timestamp = DateTimeOffset.UnixEpoch }],
            ExtensionData = new Dictionary<string, JsonElement> { ["app"] = JsonDocument.Parse("""{"nested":[1,2,{"k":"v"}]}""").RootElement },
        };

        long expected = JsonSerializer.SerializeToUtf8Bytes(task, ServerJsonContext.Default.AgentTask).Length;

        Assert.Equal(expected, StoredSize.Of(task, ServerJsonContext.Default.AgentTask));
        // Twice on one thread: the reused scratch and count start over.
        Assert.Equal(expected, StoredSize.Of(task, ServerJsonContext.Default.AgentTask));
    }

    [Fact]
    public void ASessionsSize_IsTheLengthOfItsSerializedJson()
    {
        var session = new SessionInfo { Id = "s1", Type = "interactive", Status = "active", ExtensionData = new Dictionary<string, JsonElement> { ["context"] = JsonDocument.Parse("""{"a":"ü"}""").RootElement } };

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(session, ServerJsonContext.Default.SessionInfo).Length,
            StoredSize.Of(session, ServerJsonContext.Default.SessionInfo));
    }
}
