namespace StatePersistence.Recovery;

/// <summary>A byte range of a file that recovery could not use and skipped (a journal segment), or cut off (a session log's end).</summary>
/// <param name="Path">The file (where it was when read; a damaged file is then moved aside).</param>
/// <param name="Offset">The first byte skipped.</param>
/// <param name="Length">How many bytes were skipped.</param>
/// <param name="Damage">
/// True for damage (valid data follows the range, or a header does not check out): data may have been lost and the
/// file is moved aside. False for a torn tail: what a crash leaves of a write it interrupted, never acknowledged, and
/// also, indistinguishably, what records or appends cut short at rest leave.
/// </param>
/// <param name="Reason">Why, in words.</param>
public sealed record DroppedByteRange(string Path, long Offset, long Length, bool Damage, string Reason)
{
    /// <summary>
    /// Where the bytes were kept, or null: a copy of the range alone (a session log's cut tail,
    /// <c>session_&lt;id&gt;.log.tail.corrupt.&lt;timestamp&gt;.json</c>, or a journal segment's torn tail, kept before
    /// a checkpoint deletes the segment, <c>&lt;segment&gt;.wal.tail.corrupt.&lt;timestamp&gt;.json</c>), or the copy
    /// of the whole log when it was copied aside as damaged. Null for a range of a damaged journal segment (the segment
    /// is moved aside whole) and for a range of NUL bytes only, which holds nothing to keep.
    /// </summary>
    public string? KeptAs { get; init; }
}
