namespace StatePersistence.Errors;

/// <summary>A value the caller passed is not acceptable (a missing field, a wrong type). Nothing was written.</summary>
public sealed class StateValidationException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateValidationException(string field, string problem)
        : base($"Invalid '{field}': {problem}.")
    {
        Field = field;
    }

    /// <summary>The field at fault, in the JSON name (for example <c>status</c>).</summary>
    public string Field { get; }
}
