namespace StatePersistence.Recovery;

/// <summary>A byte range of a file that recovery could not use and skipped (a journal segment), or cut off (a session log's end).</summary>
/// <param name="Path">The file (where it was when read; a damaged file is then moved aside).</param>
/// <param name="Offset">The first byte skipped.</param>
/// <param name="Length">How many bytes were skipped.</param>
/// <param name="Damage">
/// True for damage (valid data follows the range, or a header does not check out): data may have been lost and the
/// file is moved aside. False for the torn tail of a write a crash interrupted, which was never acknowledged.
/// </param>
/// <param name="Reason">Why, in words.</param>
public sealed record DroppedByteRange(string Path, long Offset, long Length, bool Damage, string Reason)
{
    /// <summary>
    /// Where the bytes were kept before they were cut, or null: a copy of the range alone
    /// (<c>session_&lt;id&gt;.log.tail.corrupt.&lt;timestamp&gt;.json</c>), or the copy of the whole file when it was
    /// copied aside as damaged. Null for a journal range (the segment itself keeps it, or is moved aside whole) and for
    /// a range of NUL bytes only, which holds nothing to keep.
    /// </summary>
    public string? KeptAs { get; init; }
}
