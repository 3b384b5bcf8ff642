namespace StatePersistence.Testing.CrashSimulation;

/// <summary>What a directory-entry change does to the namespace.</summary>
internal enum EntryChangeKind
{
    LinkFile,
    Unlink,
    MakeDirectory,
}

/// <summary>
/// One change to one directory's entries, volatile until that directory is synced. A rename within one directory is
/// two of these with the same <see cref="Sequence"/> and <see cref="Directory"/>, which keep or lose together; a
/// cross-directory rename is a link in the destination and an unlink in the source, each durable on its own sync.
/// </summary>
internal sealed record EntryOp(int Sequence, string Directory, string Path, EntryChangeKind Kind, int Inode, bool ReplacesExisting, string Description)
{
    public void ApplyTo(DiskState state)
    {
        switch (Kind)
        {
            case EntryChangeKind.LinkFile:
                state.Files[Path] = Inode;
                break;
            case EntryChangeKind.Unlink:
                state.Files.Remove(Path);
                break;
            default:
                state.Directories.Add(Path);
                break;
        }
    }
}

/// <summary>How much of a pending data change reaches the disk in one crash state.</summary>
internal enum DataFate
{
    Lost,
    Kept,
    Zeroed,

    /// <summary>The first half reached the disk; the rest of the region kept what was there.</summary>
    Torn,

    /// <summary>The first half reached the disk; the rest holds garbage (a misdirected or half-written sector).</summary>
    TornGarbage,

    /// <summary>
    /// The first half reached the disk; the rest holds stale bytes an earlier unsynced write to the same file put
    /// in flight (a reordered or reused block): data that parses, in the wrong place.
    /// </summary>
    TornStale,
}

/// <summary>A write (when <see cref="Bytes"/> is set) or a length change of one inode, volatile until it is synced.</summary>
internal sealed record DataOp(int Sequence, int Inode, long Offset, byte[]? Bytes, long NewLength, string Description)
{
    public bool IsWrite => Bytes is not null;

    /// <summary>How many bytes survive when the write is torn: the first half, as if it tore at a sector boundary.</summary>
    public int TornLength => Bytes is null ? 0 : Bytes.Length / 2;

    /// <summary>
    /// The bytes of the previous pending write to the same file, which <see cref="DataFate.TornStale"/> puts after
    /// the torn half; null when there is none (that fate is then not offered).
    /// </summary>
    public byte[]? StaleBytes { get; init; }

    /// <summary>
    /// The fates worth enumerating: a write of one byte cannot tear, a length change cannot tear or zero, a write
    /// with no earlier pending write to its file has no stale bytes to show.
    /// </summary>
    public IReadOnlyList<DataFate> StrictFates => Bytes switch
    {
        null => [DataFate.Lost, DataFate.Kept],
        { Length: 1 } => [DataFate.Lost, DataFate.Kept, DataFate.Zeroed],
        _ when StaleBytes is null => [DataFate.Lost, DataFate.Kept, DataFate.Zeroed, DataFate.Torn, DataFate.TornGarbage],
        _ => [DataFate.Lost, DataFate.Kept, DataFate.Zeroed, DataFate.Torn, DataFate.TornGarbage, DataFate.TornStale],
    };

    /// <summary>The region after the torn half as <paramref name="fate"/> leaves it.</summary>
    private byte[] TornTail(DataFate fate)
    {
        var tail = new byte[Bytes!.Length - TornLength];
        if (fate == DataFate.TornGarbage)
        {
            // Deterministic per operation, so a failing crash state can be described and reproduced (HashCode.Combine
            // is seeded per process, so it would not be).
            new Random(unchecked((Sequence * 397) ^ (Inode * 7919) ^ (int)Offset ^ (int)(Offset >> 32))).NextBytes(tail);
            if (tail.AsSpan().SequenceEqual(Bytes.AsSpan(TornLength)))
            {
                // Garbage that happens to equal what was written is no garbage: it would make this fate the same
                // crash state as the write kept (once in 256 runs for a one-byte tail).
                tail[0] ^= 0xFF;
            }
        }
        else
        {
            for (int i = 0; i < tail.Length; i++)
            {
                tail[i] = StaleBytes![i % StaleBytes.Length];
            }
        }

        return tail;
    }

    public void ApplyTo(DiskState state, DataFate fate)
    {
        FileData data = state.DataOf(Inode);
        switch (fate)
        {
            case DataFate.Kept when Bytes is null:
                data.SetLength(NewLength);
                break;
            case DataFate.Kept:
                data.Write(Offset, Bytes);
                break;
            case DataFate.Zeroed:
                data.WriteZeros(Offset, Bytes!.Length);
                break;
            case DataFate.Torn:
                data.Write(Offset, Bytes.AsSpan(0, TornLength));
                break;
            case DataFate.TornGarbage or DataFate.TornStale:
                data.Write(Offset, Bytes.AsSpan(0, TornLength));
                data.Write(Offset + TornLength, TornTail(fate));
                break;
            default:
                break;
        }
    }
}
