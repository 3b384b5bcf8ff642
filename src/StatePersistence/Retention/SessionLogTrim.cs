namespace StatePersistence.Retention;

/// <summary>
/// What the cap did to one session log: <paramref name="Rotated"/> (the live log became part 1) or its oldest appends
/// dropped; <paramref name="LogBytes"/> the live log's size before, <paramref name="BytesFreed"/> what left the store
/// (the dropped part, or the dropped appends).
/// </summary>
public sealed record SessionLogTrim(string SessionId, long LogBytes, long BytesFreed, bool Rotated);
