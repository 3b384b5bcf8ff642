namespace StatePersistence.Serialization.Envelope;

/// <summary>The bytes of one JSON value as a file holds it, which may have more around it than the value.</summary>
internal static class JsonValueBytes
{
    /// <summary>The UTF-8 byte order mark, which some programs write ahead of a file's JSON and JSON readers refuse.</summary>
    public static ReadOnlySpan<byte> ByteOrderMark => "\uFEFF"u8;

    /// <summary>
    /// The value without the byte order mark and the JSON whitespace (space, tab, CR, LF) around it: what a reader of the
    /// value sees, so what a checksum of it must cover (a file another program wrote may end in a newline).
    /// </summary>
    public static ReadOnlySpan<byte> TrimAround(ReadOnlySpan<byte> json)
    {
        if (json.StartsWith(ByteOrderMark))
        {
            json = json[ByteOrderMark.Length..];
        }

        return json.Trim(" \t\r\n"u8);
    }
}
