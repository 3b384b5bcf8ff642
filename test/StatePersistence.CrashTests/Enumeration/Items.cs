using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.Model;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Small tasks, sessions and reports for workloads, with an unknown field so round-tripping is checked too.</summary>
internal static class Items
{
    public static AgentTask NewTask(string id, string status = TaskStatuses.Pending, string description = "Implement authentication") => new()
    {
        Id = id,
        Description = description,
        Status = status,
        Tool = "CLAUDECODE",
        CreatedAt = Services.Epoch,
        UpdatedAt = Services.Epoch,
        ExtensionData = new Dictionary<string, JsonElement> { ["priority"] = JsonSerializer.SerializeToElement(id.Length) },
    };

    public static SessionInfo NewSession(string id, string status = "active") => new()
    {
        Id = id,
        Type = "interactive",
        Status = status,
        CreatedAt = Services.Epoch,
        TaskId = "a",
    };

    public static JsonElement NewReport(string title, int findings) =>
        JsonDocument.Parse($$"""{"title":"{{title}}","findings":{{findings}},"lines":["one","two"]}""").RootElement.Clone();

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>A task log entry for AppendTaskLog, timestamped <paramref name="minute"/> minutes after the epoch.</summary>
    public static TaskLogEntry LogEntry(int minute, string message) => new()
    {
        Timestamp = Services.Epoch.AddMinutes(minute),
        Level = "info",
        Type = "output",
        Message = message,
        ExtensionData = new Dictionary<string, JsonElement> { ["step"] = JsonSerializer.SerializeToElement(minute) },
    };

    /// <summary>A change for UpdateTask: a new status and one more log line, as an agent server makes them.</summary>
    public static Action<AgentTask> Progress(string status, string message) => task =>
    {
        task.Status = status;
        task.UpdatedAt = Services.Epoch.AddMinutes(task.Logs.Count + 1);
        task.Logs.Add(new TaskLogEntry { Timestamp = Services.Epoch, Level = "info", Type = "progress", Message = message });
    };
}
