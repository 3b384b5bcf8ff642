using StatePersistence.Storage;

namespace StatePersistence.Errors;

/// <summary>
/// A conditional write found the item at another revision than expected (or present when it had to be absent, or
/// absent when a revision was expected). Nothing of the write was stored. <see cref="Current"/> is the item as it is
/// now, so the caller can merge and retry (HTTP: 409 or 412).
/// </summary>
public sealed class StateConflictException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateConflictException(string kind, string id, ExpectedRevision expected, long? currentRevision, object? current)
        : base($"The {kind} '{id}' was expected {(expected.IsAbsent ? "to be absent" : $"at {expected}")} but is {(currentRevision is { } r ? $"at revision {r}" : "absent")}; nothing was written.")
    {
        Kind = kind;
        Id = id;
        Expected = expected;
        CurrentRevision = currentRevision;
        Current = current;
    }

    /// <summary>What the item is: <c>task</c> or <c>session</c>.</summary>
    public string Kind { get; }

    /// <summary>The item's id.</summary>
    public string Id { get; }

    /// <summary>What the write expected.</summary>
    public ExpectedRevision Expected { get; }

    /// <summary>The item's current revision, or null when it does not exist.</summary>
    public long? CurrentRevision { get; }

    /// <summary>The item as it is now (an <see cref="Model.AgentTask"/> or <see cref="Model.SessionInfo"/>), or null when absent.</summary>
    public object? Current { get; }
}
