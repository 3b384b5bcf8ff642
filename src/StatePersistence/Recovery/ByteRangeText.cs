namespace StatePersistence.Recovery;

/// <summary>A byte range in words, for messages: <c>bytes 10..41</c> (both ends included), <c>0 bytes (at offset 10)</c>.</summary>
internal static class ByteRangeText
{
    /// <summary>
    /// The range of <paramref name="length"/> bytes from <paramref name="offset"/>. An empty range has no last byte, so
    /// it is not written as <c>offset..offset-1</c> (an empty file once printed as <c>0..-1</c>).
    /// </summary>
    public static string Of(long offset, long length) => length > 0 ? $"bytes {offset}..{offset + length - 1}" : $"0 bytes (at offset {offset})";
}
