namespace StatePersistence.Service.Commits;

/// <summary>
/// Thrown by a commit's builder in place of a refusal (a conflict, an id taken, an item not found) that would rest on
/// a version of the item no commit has made durable yet. That commit may still fail, and the refused write would then
/// have been refused for a write that never happened, its refusal carrying an item no store ever held.
/// <see cref="CommitPipeline"/> catches it, waits until the commits pending have their outcome and decides again;
/// it never leaves the pipeline. Thrown only on the refusal path: a write that goes ahead never waits for it.
/// </summary>
internal sealed class UnsettledRefusal : Exception
{
    public UnsettledRefusal()
        : base("A refusal waited for the commits pending before it to settle.")
    {
    }
}
