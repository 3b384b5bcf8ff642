namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Something wrong that a read-only look at a state directory found: the file involved, the task or session id when
/// there is one, and what is wrong. Reported, never repaired: the reader changes nothing.
/// </summary>
public sealed record StateDirectoryProblem(string Path, string? Id, string Problem)
{
    /// <inheritdoc />
    public override string ToString() => Id is null ? $"{Path}: {Problem}" : $"{Path} ({Id}): {Problem}";
}
