using System.Text.Json;
using System.Text.Json.Serialization;
using StatePersistence.Commit;
using StatePersistence.FileStore.Operations;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>What <c>statectl tasks list --json</c> prints.</summary>
internal sealed record TaskListReport(string StateDirectory, long Revision, int Count, IReadOnlyList<TaskSummary> Tasks, IReadOnlyList<StateDirectoryProblem> Problems);

/// <summary>What <c>statectl tasks list --store postgres --json</c> prints: <c>database</c> is the store's URL without credentials.</summary>
internal sealed record PostgresTaskListReport(string Database, long Revision, int Count, IReadOnlyList<TaskSummary> Tasks, IReadOnlyList<PostgresRowProblem> Problems);

/// <summary>One task's line in <c>tasks list</c>.</summary>
internal sealed record TaskSummary(string Id, string? Status, string? Tool, string? Description, long Revision, DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt)
{
    public static TaskSummary From(StoredItem task)
    {
        using JsonDocument document = JsonDocument.Parse(task.Json);
        string? description = document.RootElement.TryGetProperty("description", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        return new TaskSummary(task.Id, task.Status, task.Tool, description, task.Revision, task.CreatedAt, task.UpdatedAt);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(TaskListReport))]
[JsonSerializable(typeof(PostgresTaskListReport))]
internal sealed partial class TasksJsonContext : JsonSerializerContext;
