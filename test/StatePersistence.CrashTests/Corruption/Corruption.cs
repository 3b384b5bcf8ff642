using StatePersistence.FileStore.SessionLog;

namespace StatePersistence.CrashTests.Corruption;

/// <summary>The kinds of damage at rest the campaign does, one per trial.</summary>
internal enum CorruptionKind
{
    /// <summary>One bit of one byte flipped.</summary>
    BitFlip,

    /// <summary>Cut short at a random length.</summary>
    Truncate,

    /// <summary>A 512-byte aligned block overwritten with zeros.</summary>
    ZeroBlock,

    /// <summary>Removed.</summary>
    Delete,

    /// <summary>Emptied to zero bytes.</summary>
    Empty,

    /// <summary>Its content exchanged with another file of the same kind.</summary>
    Swap,

    /// <summary>Another file of the same kind copied over it (or, for a journal segment, under a new name).</summary>
    Duplicate,
}

/// <summary>One corruption: which file, what was done, and the file's bytes before (for the report).</summary>
internal sealed record Corruption(CorruptionKind Kind, string RelativePath, string Detail)
{
    /// <summary>
    /// A session log cut exactly where one of its appends ended (or to nothing): what is left is a whole, valid, shorter
    /// log, and nothing else records how long it was.
    /// </summary>
    public bool LeftWholeShorterLog { get; init; }

    /// <summary>
    /// A journal segment zeroed from where one of its records began to its end (the block held its last records): what
    /// is left reads as a whole, shorter journal followed by the preallocated zeros, as a segment cut at a record
    /// boundary does, and nothing else records how many records it had.
    /// </summary>
    public bool LeftJournalCutAtARecord { get; init; }

    /// <summary>The magic every journal record begins with (docs/reliability.md), in the clear under any codec.</summary>
    private static ReadOnlySpan<byte> JournalRecordMagic => "SPJ1"u8;

    public override string ToString() => $"{Kind} of {RelativePath} ({Detail})";

    /// <summary>Damages one file of <paramref name="root"/>, chosen with <paramref name="random"/>.</summary>
    public static Corruption Apply(string root, CorruptionKind kind, Random random)
    {
        List<string> files = [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock")
            .Select(f => Path.GetRelativePath(root, f))
            .Order(StringComparer.Ordinal)];
        List<string> candidates = kind is CorruptionKind.Swap or CorruptionKind.Duplicate
            ? [.. files.Where(f => files.Any(g => g != f && KindOf(g) == KindOf(f)))]
            : files;

        // A kind of file first, then a file of that kind: the one state.json and the few journal segments are hit
        // as often as the many task files.
        List<string> kinds = [.. candidates.Select(KindOf).Distinct().Order(StringComparer.Ordinal)];
        string chosenKind = kinds[random.Next(kinds.Count)];
        List<string> ofKind = [.. candidates.Where(f => KindOf(f) == chosenKind)];
        string target = ofKind[random.Next(ofKind.Count)];
        string path = Path.Combine(root, target);
        byte[] bytes = File.ReadAllBytes(path);

        // Preallocated journal space is zeros that nothing reads as records: damage where the records are.
        int used = chosenKind == "journal" ? Math.Min(bytes.Length, bytes.AsSpan().LastIndexOfAnyExcept((byte)0) + 2) : bytes.Length;
        switch (kind)
        {
            case CorruptionKind.BitFlip when bytes.Length > 0:
                int at = random.Next(used);
                int bit = random.Next(8);
                bytes[at] ^= (byte)(1 << bit);
                File.WriteAllBytes(path, bytes);
                return new(kind, target, $"bit {bit} of byte {at} of {bytes.Length}");
            case CorruptionKind.Truncate when bytes.Length > 0:
                int length = random.Next(used);
                File.WriteAllBytes(path, bytes[..length]);
                return new(kind, target, $"to {length} of {bytes.Length} bytes")
                {
                    LeftWholeShorterLog = chosenKind == "log" && WholeLogLengths(bytes).Contains(length),
                };
            case CorruptionKind.ZeroBlock when bytes.Length > 0:
                int block = random.Next((used + 511) / 512) * 512;
                bool blockStartsARecord = chosenKind == "journal" && bytes.AsSpan(block).StartsWith(JournalRecordMagic);
                Array.Clear(bytes, block, Math.Min(512, bytes.Length - block));
                File.WriteAllBytes(path, bytes);
                return new(kind, target, $"bytes {block}..{Math.Min(block + 512, bytes.Length)} of {bytes.Length} zeroed")
                {
                    LeftJournalCutAtARecord = blockStartsARecord && !bytes.AsSpan(block).ContainsAnyExcept((byte)0),
                };
            case CorruptionKind.Delete:
                File.Delete(path);
                return new(kind, target, "deleted");
            case CorruptionKind.Swap:
            {
                string other = Other(files, target, random);
                byte[] otherBytes = File.ReadAllBytes(Path.Combine(root, other));
                File.WriteAllBytes(path, otherBytes);
                File.WriteAllBytes(Path.Combine(root, other), bytes);
                return new(kind, target, "exchanged with " + other);
            }

            case CorruptionKind.Duplicate when KindOf(target) == "journal" && random.Next(2) == 0:
            {
                // A copy of a segment under the next free number, as a careless restore would leave it.
                string directory = Path.GetDirectoryName(path)!;
                long next = Directory.GetFiles(directory, "*.wal").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture)).Max() + 1;
                string copy = Path.Combine(directory, next.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + ".wal");
                File.Copy(path, copy);
                return new(kind, target, "copied to " + Path.GetRelativePath(root, copy));
            }

            case CorruptionKind.Duplicate:
            {
                string other = Other(files, target, random);
                File.Copy(Path.Combine(root, other), path, overwrite: true);
                return new(kind, target, "overwritten by a copy of " + other);
            }

            default:
                File.WriteAllBytes(path, []);
                return new(CorruptionKind.Empty, target, bytes.Length == 0 ? "was already empty" : $"emptied ({bytes.Length} bytes)");
        }
    }

    /// <summary>What a file is, for choosing one of the same kind to swap or copy.</summary>
    public static string KindOf(string relativePath)
    {
        string name = Path.GetFileName(relativePath);
        if (name.EndsWith(".tmp", StringComparison.Ordinal))
        {
            // A write in flight when the process was killed: never acknowledged, removed at start-up.
            return "temp";
        }

        return Path.GetDirectoryName(relativePath) switch
        {
            "tasks" => "task",
            "sessions" => "session",
            "logs" => "log",
            "reports" => "report",
            "journal" => "journal",
            _ when name == "state.json" || name.StartsWith("state.backup.", StringComparison.Ordinal) => "state",
            _ => name,
        };
    }

    private static string Other(List<string> files, string target, Random random)
    {
        List<string> same = [.. files.Where(f => f != target && KindOf(f) == KindOf(target))];
        return same[random.Next(same.Count)];
    }

    /// <summary>
    /// The lengths at which a framed session log (README, "On-disk formats") is whole: empty, the header alone, and the
    /// end of each valid append, read with the store's own frame parser.
    /// </summary>
    private static HashSet<int> WholeLogLengths(byte[] log)
    {
        var lengths = new HashSet<int> { 0 };
        if (SessionLogFormat.HeaderVersion(log) == 0)
        {
            return lengths;
        }

        int at = SessionLogFormat.FileHeaderSize;
        lengths.Add(at);
        for (int size = SessionLogFormat.FrameAt(log, at); size > 0; size = SessionLogFormat.FrameAt(log, at))
        {
            at += size;
            lengths.Add(at);
        }

        return lengths;
    }
}
