namespace StatePersistence.Events;

/// <summary>
/// One event of <see cref="IStatePersistence.ReadEventsAsync"/>: a committed change to a task or session (from the
/// store's change feed, so changes made by any writer of the store arrive), or something the service did (a snapshot,
/// a failed save, an autosave, a report or session log saved, the state loaded).
/// </summary>
/// <param name="Position">Where the event is in the stream; resume after it with <see cref="IStatePersistence.ReadEventsAsync"/>.</param>
/// <param name="Type">What happened: one of <see cref="StateEventTypes"/>.</param>
/// <param name="Id">The task, session or report id; null for events about the whole state.</param>
/// <param name="Revision">
/// For a change, the revision it was committed at (the item's new revision; for a delete, the delete's). Otherwise the
/// state's revision when it happened (for <see cref="StateEventTypes.Reset"/>, the newest the stream continues after).
/// </param>
/// <param name="Operation">For <see cref="StateEventTypes.StateSaveError"/>, what failed (for example <c>save-task</c>).</param>
public sealed record StateEvent(StateEventPosition Position, string Type, string? Id, long Revision, string? Operation = null);
