using StatePersistence.Ids;

namespace StatePersistence.Errors;

/// <summary>An id that cannot safely become a file name. Nothing was written.</summary>
public sealed class InvalidStateIdException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public InvalidStateIdException(string id, string kind, string problem)
        : base($"Invalid {kind} id {StateId.Quote(id)}: {problem}.")
    {
        Id = id;
        Kind = kind;
        Problem = problem;
    }

    /// <summary>The rejected id.</summary>
    public string Id { get; }

    /// <summary>What the id was for: task, session or report.</summary>
    public string Kind { get; }

    /// <summary>Why it was rejected.</summary>
    public string Problem { get; }
}
