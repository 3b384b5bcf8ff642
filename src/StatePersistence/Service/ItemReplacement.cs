namespace StatePersistence;

/// <summary>What <see cref="IStatePersistence.ReplaceTaskAsync(Model.AgentTask, Storage.ExpectedRevision, Action{Model.AgentTask, bool}?, CancellationToken)"/> stored.</summary>
/// <param name="Id">The item's id.</param>
/// <param name="Revision">The revision the store gave the item.</param>
/// <param name="Created">Whether there was no item with the id before: the replace created it.</param>
/// <param name="Json">
/// The item as stored, as UTF-8 JSON with its revision (redacted, with the <c>created_at</c> the replace kept): what a
/// later load reads, so a caller can send or cache it without serializing the item again.
/// </param>
public sealed record ItemReplacement(string Id, long Revision, bool Created, ReadOnlyMemory<byte> Json);
