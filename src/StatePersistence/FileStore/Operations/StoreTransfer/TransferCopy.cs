using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.StoreTransfer;

/// <summary>What an import into a store and an export from one share: their throwaway file store, and how a log is copied.</summary>
internal static class TransferCopy
{
    /// <summary>Items per commit: each commit is one transaction of a database, so none grows with the state.</summary>
    public const int ItemsPerCommit = 1000;

    /// <summary>The most a log append carries, cut at a line end where there is one.</summary>
    public const int LogChunkBytes = 1 << 20;

    /// <summary>A directory of its own under the system's temp directory, for a copy read once and removed.</summary>
    public static string NewWorkDirectory(string what) => Path.Combine(Path.GetTempPath(), $"statepersistence-{what}-{Guid.NewGuid():N}");

    /// <summary>The options of the throwaway file store: nothing in the background, it lives for one copy.</summary>
    public static StatePersistenceOptions Options(string directory) => new()
    {
        StatePath = directory,
        AutosaveInterval = TimeSpan.Zero,
        ScrubInterval = TimeSpan.Zero,
        ReencryptionInterval = TimeSpan.Zero,
        DiskUsageInterval = TimeSpan.Zero,
    };

    /// <summary>Removes the work directory, whatever the copy came to.</summary>
    public static void Remove(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Appends the text <paramref name="reader"/> serves from <paramref name="offset"/> to <paramref name="target"/>'s
    /// log <paramref name="sessionId"/>, in chunks of whole lines (or whole characters), so no append holds a log's
    /// whole size.
    /// </summary>
    public static async Task CopyLogAsync(ISessionLogReader reader, long offset, IStateBlobStore target, string sessionId, Durability durability,
        CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream(LogChunkBytes);
        while (offset < reader.Length)
        {
            buffer.SetLength(0);
            await reader.CopyToAsync(buffer, offset, Math.Min(LogChunkBytes, reader.Length - offset), cancellationToken).ConfigureAwait(false);
            ReadOnlyMemory<byte> chunk = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            int cut = offset + chunk.Length == reader.Length ? chunk.Length : WholeLinesOrCharacters(chunk.Span);
            await target.AppendSessionLogAsync(sessionId, chunk[..cut], durability, cancellationToken).ConfigureAwait(false);
            offset += cut;
        }
    }

    /// <summary>The length of <paramref name="chunk"/> up to its last line end, or without a character cut at its end.</summary>
    public static int WholeLinesOrCharacters(ReadOnlySpan<byte> chunk)
    {
        int newline = chunk.LastIndexOf((byte)'\n');
        if (newline >= 0)
        {
            return newline + 1;
        }

        // Back over continuation bytes (10xxxxxx) to the lead byte of the last character, which may be incomplete.
        int end = chunk.Length;
        int lead = end - 1;
        while (lead > 0 && (chunk[lead] & 0xC0) == 0x80)
        {
            lead--;
        }

        int needed = chunk[lead] switch { < 0x80 => 1, >= 0xF0 => 4, >= 0xE0 => 3, >= 0xC0 => 2, _ => 1 };
        return lead + needed <= end ? end : lead;
    }

    /// <summary>Every session log <paramref name="blobs"/> holds, a page at a time (<see cref="IStateBlobStore.ListSessionLogsAsync(string?, int, CancellationToken)"/>).</summary>
    public static async Task<List<string>> AllSessionLogsAsync(IStateBlobStore blobs, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        IReadOnlyList<string> page;
        do
        {
            page = await blobs.ListSessionLogsAsync(ids.Count > 0 ? ids[^1] : null, Retention.RetentionLoop.ReportPage, cancellationToken).ConfigureAwait(false);
            ids.AddRange(page);
        }
        while (page.Count == Retention.RetentionLoop.ReportPage);
        return ids;
    }
}
