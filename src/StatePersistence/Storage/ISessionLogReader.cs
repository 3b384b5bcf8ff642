namespace StatePersistence.Storage;

/// <summary>
/// A session log opened for reading, sent in bounded memory: the text is written to a stream an append at a time, each
/// append verified (its checksum, its envelope) as it goes, so a read costs a few appends' worth of memory whatever
/// the log's size. What the log held when it was opened is what it reads: appends made since are not part of it
/// (open again for them). Dispose it when done: a store may hold files or a snapshot open for it.
/// </summary>
/// <remarks>
/// A store over an object store (S3, Azure Blob: whole objects, ranged GETs, no append) implements it over a log's
/// segments: <see cref="Length"/> from their text lengths, <see cref="CopyToAsync"/> with a ranged GET per segment.
/// </remarks>
public interface ISessionLogReader : IAsyncDisposable
{
    /// <summary>The length in bytes of the log's UTF-8 text as it was opened (what <c>Content-Length</c> gives for all of it).</summary>
    long Length { get; }

    /// <summary>
    /// Writes <paramref name="count"/> bytes of the text from <paramref name="offset"/> to <paramref name="destination"/>,
    /// verifying each append they come from. Throws <see cref="ArgumentOutOfRangeException"/> for a range outside
    /// <c>0..<see cref="Length"/></c>. Damage found before this call is repaired when the log is opened (as a whole read
    /// does); an append that no longer verifies by the time it is written here (the stored log changed since it was
    /// opened) throws <see cref="Errors.StateStorageException"/> naming where, after the bytes before it were written:
    /// a caller that already announced the length (an HTTP response) must abort, not end, what it sends.
    /// </summary>
    ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default);
}
