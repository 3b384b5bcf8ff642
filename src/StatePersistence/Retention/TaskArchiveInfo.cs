namespace StatePersistence.Retention;

/// <summary>
/// An archive a store keeps, as its listing shows it without reading it whole: what an operator choosing one to
/// restore, or sizing the archives, needs.
/// </summary>
/// <param name="Name">The archive's name (<c>tasks.&lt;timestamp&gt;.tar.gz</c>): what a restore takes.</param>
/// <param name="Bytes">Its size as kept (the <c>.tar.gz</c>'s bytes).</param>
/// <param name="Tasks">How many tasks it holds; null when its manifest does not read (a damaged file: <see cref="Problem"/> says why).</param>
/// <param name="CreatedAt">When it was written; null when its manifest does not read.</param>
public sealed record TaskArchiveInfo(string Name, long Bytes, int? Tasks, DateTimeOffset? CreatedAt)
{
    /// <summary>
    /// Why its manifest does not read (not gzip, cut short, no manifest first), or null when it reads. A listing
    /// reads only the manifest, so an archive damaged past it has none: a restore reads the archive whole and names any
    /// damaged entry, and so does <c>TaskArchives.CheckFiles</c> (<c>statectl archive list --verify</c>), whose
    /// problem is then why the archive does not read whole.
    /// </summary>
    public string? Problem { get; init; }
}
