using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Service.Items;

/// <summary>What differs between tasks and sessions; everything else about saving them is shared.</summary>
internal sealed record ItemKind<T>(
    string Name,
    ChangeKind Delete,
    Func<StateView, ImmutableSortedDictionary<string, StoredItem>> Map,
    Func<T, StateChange> Change,
    Func<byte[], T> Deserialize,
    Action<T, string> SetId,
    Action<T, long> SetRevision)
    where T : class
{
    public static ItemKind<AgentTask> Tasks { get; } = new(
        "task", ChangeKind.DeleteTask, static view => view.Tasks, TaskChange, static json => ItemCodec.DeserializeTask(json),
        static (task, id) => task.Id = id, static (task, revision) => task.Revision = revision);

    public static ItemKind<SessionInfo> Sessions { get; } = new(
        "session", ChangeKind.DeleteSession, static view => view.Sessions, SessionChange,
        static json => ItemCodec.DeserializeSession(json), static (session, id) => session.Id = id,
        static (session, revision) => session.Revision = revision);

    /// <summary>
    /// A task's put. Its <c>revision</c> is whatever the caller's object says; the commit stamps the real one over it,
    /// so a client cannot set the stored revision.
    /// </summary>
    public static StateChange TaskChange(AgentTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        StateId.Validate(task.Id, "task");
        // A null entry would be stored as JSON null, and every later update of the task would fail on it.
        int nullEntry = task.Logs?.IndexOf(null!) ?? -1;
        if (nullEntry >= 0)
        {
            throw new StateValidationException($"logs[{nullEntry}]", $"the log entry of task {StateId.Quote(task.Id)} is null");
        }

        byte[] json = Serialized("task", task.Id, () => ItemCodec.Serialize(task));
        return new StateChange(ChangeKind.PutTask, task.Id, json, ItemCodec.TaskItem(task, json));
    }

    /// <summary>A session's put; see <see cref="TaskChange"/>.</summary>
    public static StateChange SessionChange(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        StateId.Validate(session.Id, "session");
        byte[] json = Serialized("session", session.Id, () => ItemCodec.Serialize(session));
        return new StateChange(ChangeKind.PutSession, session.Id, json, ItemCodec.SessionItem(session, json));
    }

    /// <summary>
    /// The item's JSON. System.Text.Json refuses a string it cannot write (one of more than about 166 million
    /// characters) with an <see cref="ArgumentException"/> naming neither the item nor the field: the caller gets a
    /// validation error naming the item instead (nothing is written).
    /// </summary>
    private static byte[] Serialized(string kind, string id, Func<byte[]> serialize)
    {
        try
        {
            return serialize();
        }
        catch (ArgumentException ex)
        {
            throw new StateValidationException(kind, $"{kind} {StateId.Quote(id)} cannot be stored as JSON: {ex.Message}");
        }
    }
}
