namespace StatePersistence.Querying;

/// <summary>What a task listing is ordered by; ties are broken by id in the same direction.</summary>
public enum TaskSort
{
    /// <summary>By id, ordinal, ascending (the default, and the order of the state's maps).</summary>
    Id = 0,

    /// <summary>By id, descending.</summary>
    IdDescending = 1,

    /// <summary>By <c>created_at</c>, oldest first (tasks without one first).</summary>
    CreatedAt = 2,

    /// <summary>By <c>created_at</c>, newest first.</summary>
    CreatedAtDescending = 3,

    /// <summary>By <c>updated_at</c>, oldest first (tasks without one first).</summary>
    UpdatedAt = 4,

    /// <summary>By <c>updated_at</c>, newest first.</summary>
    UpdatedAtDescending = 5,
}
