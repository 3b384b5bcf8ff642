using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Encryption;

/// <summary>
/// How much of a state directory each key still protects: the payloads (and files holding them) sealed under each key
/// id, and those stored in the clear (the identity codec). Read-only, safe beside a running process; found by the
/// envelope header every payload starts with (magic, version, codec and key ids), so journal records and session log
/// frames are counted one by one. What <c>statectl keys list</c> shows before a key is removed.
/// </summary>
public sealed class EncryptionKeyUsage
{
    private static readonly byte[] Magic = "SPEV"u8.ToArray();

    private EncryptionKeyUsage(IReadOnlyDictionary<string, KeyUsageCount> byKey, long clearFiles,
        IReadOnlyDictionary<string, IReadOnlyList<string>> movedAside, IReadOnlyList<string> damaged)
    {
        ByKey = byKey;
        ClearFiles = clearFiles;
        MovedAsideByKey = movedAside;
        DamagedFiles = damaged;
    }

    /// <summary>Per key id, the payloads sealed with it and the files that hold them (files moved aside not included).</summary>
    public IReadOnlyDictionary<string, KeyUsageCount> ByKey { get; }

    /// <summary>Files holding at least one payload in the clear (or no envelope at all, as older versions wrote them).</summary>
    public long ClearFiles { get; }

    /// <summary>
    /// Per key id, the files moved aside (<c>*.corrupt.*</c>: damaged copies, and the torn tails of journal segments
    /// and session logs kept aside, which may hold acknowledged data) that hold a payload sealed with it, by full path.
    /// The store no longer reads them and re-encryption never rewrites them, but an operator may still need them: a
    /// key removed while they exist makes them unreadable for good.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MovedAsideByKey { get; }

    /// <summary>
    /// Sealed task, session and report files whose envelope checksum fails: their header (the key id included) cannot
    /// be trusted, so they are counted under no key; damage for recovery or a read to move aside. Also task archives
    /// that do not read whole, whose entries before the damage are counted under their keys.
    /// </summary>
    public IReadOnlyList<string> DamagedFiles { get; }

    /// <summary>
    /// Symbolic links among the files the store reads whose target does not exist: they hold nothing any key opens,
    /// and nothing can read them. Listed apart, not taken for a file that went during the count (a rotation beside a
    /// running server, which makes the count start again): a link that stays dangling was listed again by every pass,
    /// and <c>keys list</c> and <c>keys retire --remove</c> answered "try again" for ever.
    /// </summary>
    public IReadOnlyList<string> BrokenLinks { get; private init; } = [];

    /// <summary>
    /// Damaged task archives of which nothing decompresses: whatever keys sealed them cannot be read, so any key may
    /// be the one their entries need (see <see cref="EncryptionKeyOperations.Remove(string, string, string, bool, Microsoft.Extensions.Logging.ILogger?)"/>).
    /// </summary>
    internal IReadOnlyList<string> DamagedArchivesOfUnknownKeys { get; private init; } = [];

    /// <summary>The payloads sealed with <paramref name="keyId"/>.</summary>
    public KeyUsageCount For(string keyId) => ByKey.GetValueOrDefault(keyId) ?? new KeyUsageCount(0, 0);

    /// <summary>The files moved aside that hold payloads sealed with <paramref name="keyId"/>.</summary>
    public IReadOnlyList<string> MovedAsideFor(string keyId) => MovedAsideByKey.GetValueOrDefault(keyId) ?? [];

    /// <summary>
    /// Per key id, the files a migration rollback kept in <c>rolled-back.&lt;timestamp&gt;/</c> (what was saved since
    /// the migration, taken out of the state) that hold a payload sealed with it, by full path. As with files moved
    /// aside, the store no longer reads them and re-encryption never rewrites them, but an operator may put them back:
    /// a key removed while they exist makes them unreadable for good. Before 2026-12-07 they were counted nowhere.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> RolledBackByKey { get; private init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The files kept by a migration rollback that hold payloads sealed with <paramref name="keyId"/>.</summary>
    public IReadOnlyList<string> RolledBackFor(string keyId) => RolledBackByKey.GetValueOrDefault(keyId) ?? [];

    /// <summary>
    /// Scans the files under <paramref name="stateDirectory"/> the store reads, and those moved aside beside them
    /// (see <see cref="StoredPayloadFiles"/>). Throws <see cref="Errors.StatePersistenceException"/> naming the
    /// directory when it does not exist or shows no sign of being a state directory: a mistyped path must not read as
    /// "nothing under any key".
    /// </summary>
    public static EncryptionKeyUsage Measure(string stateDirectory)
    {
        // A file that goes between the listing and its read may have been renamed to a name the listing did not
        // hold: the backup rotation renames state.json, still sealed with the key it was written with, to
        // state.backup.<time>.json. A pass that saw one go is not trusted; the next one lists again. A keys list
        // showing 0 under an old key while such a backup held it let the key be retired and removed (CI caught the
        // backup still naming it right after list said 0).
        for (int pass = 1; ; pass++)
        {
            bool vanished = false;
            EncryptionKeyUsage usage = MeasureOnce(stateDirectory, () => vanished = true);
            if (!vanished)
            {
                return usage;
            }

            if (pass == MaxPasses)
            {
                throw new Errors.StatePersistenceException(
                    $"Files under '{Path.GetFullPath(stateDirectory)}' kept going between listing and reading in {MaxPasses} passes (a running server rotating its files): the count could miss payloads moved to new names, so none is given. Try again.",
                    Path.GetFullPath(stateDirectory));
            }

            // As every read beside a running server does (ReadRetry): a server descheduled in the middle of a rotation
            // would show the same half-done step to passes made back to back.
            Thread.Sleep(FileStore.Operations.ReadRetry.PauseBefore(pass + 1));
        }
    }

    /// <summary>How many passes <see cref="Measure"/> makes before it gives up on a directory that keeps changing.</summary>
    private const int MaxPasses = 20;

    private static EncryptionKeyUsage MeasureOnce(string stateDirectory, Action fileWent)
    {
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new Errors.StatePersistenceException(StateDirectoryAbsence.Describe(root), root);
        }

        if (!FileStore.StateDirectorySigns.Any(root))
        {
            throw new Errors.StatePersistenceException(
                $"'{root}' is not a state directory: it holds no state.json, backup, or folder of the store (journal/, tasks/, sessions/, logs/, reports/, archive/). Give the directory the server runs on (--state-path); nothing was changed.", root);
        }

        var payloads = new Dictionary<string, long>(StringComparer.Ordinal);
        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        var movedAside = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var rolledBack = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var damaged = new List<string>();
        var brokenLinks = new List<string>();
        var unknownKeys = new List<string>();
        long clearFiles = 0;
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (StoredPayloadFile file in InReadOrder(StoredPayloadFiles.Under(root)))
        {
            listed.Add(file.Path);
            if (ScanFile(file, damaged, unknownKeys, brokenLinks, fileWent) is not { } scanned)
            {
                continue;
            }

            (Dictionary<string, long> keys, bool clear) = scanned;
            foreach ((string key, long count) in keys)
            {
                if (file.MovedAside || file.RolledBack)
                {
                    Dictionary<string, List<string>> kept = file.RolledBack ? rolledBack : movedAside;
                    (kept.TryGetValue(key, out List<string>? paths) ? paths : kept[key] = []).Add(file.Path);
                    continue;
                }

                payloads[key] = payloads.GetValueOrDefault(key) + count;
                files[key] = files.GetValueOrDefault(key) + 1;
            }

            if (clear && !file.MovedAside && !file.RolledBack)
            {
                clearFiles++;
            }
        }

        if (MovedToANewName(root, listed))
        {
            fileWent();
        }

        return new EncryptionKeyUsage(payloads.ToDictionary(p => p.Key, p => new KeyUsageCount(p.Value, files[p.Key]), StringComparer.Ordinal), clearFiles,
            movedAside.ToDictionary(m => m.Key, m => (IReadOnlyList<string>)m.Value, StringComparer.Ordinal), damaged)
        {
            DamagedArchivesOfUnknownKeys = unknownKeys,
            BrokenLinks = brokenLinks,
            RolledBackByKey = rolledBack.ToDictionary(m => m.Key, m => (IReadOnlyList<string>)m.Value, StringComparer.Ordinal),
        };
    }

    /// <summary>
    /// The files in the order a pass reads them: by path, but a session log's parts by number (the live log, then
    /// <c>.1</c>, <c>.2</c>, …, <c>.10</c>) rather than as text (<c>.10</c> before <c>.2</c>). A rotation moves each
    /// part's payloads one number up, so read by number they move ahead of the read (counted twice at worst); read as
    /// text, part 9's payloads moved into part 10, already read, and were counted nowhere.
    /// </summary>
    private static IEnumerable<StoredPayloadFile> InReadOrder(IEnumerable<StoredPayloadFile> files) =>
        files.Select(file => (File: file, Key: ReadKey(file.Path)))
            .OrderBy(f => f.Key.Log, StringComparer.Ordinal)
            .ThenBy(f => f.Key.Part)
            .Select(f => f.File);

    private static (string Log, int Part) ReadKey(string path) =>
        StateLayout.TryParseSessionLogName(Path.GetFileName(path), out string id, out int part)
            ? (Path.Combine(Path.GetDirectoryName(path)!, "session_" + id + ".log"), part)
            : (path, 0);

    /// <summary>
    /// Whether a rotation during the pass moved a file to a name the pass's listing did not hold while a new file took
    /// its old name: <c>state.json</c> renamed to a new <c>state.backup.&lt;time&gt;.json</c> and the new snapshot
    /// renamed into place, or a session log shifted into a new part. Nothing went missing, so the read of the old name
    /// found the new file, and the payloads moved (under the key that sealed them) were counted nowhere: CI saw
    /// <c>keys list</c> say 0 under the old key while such a backup held it. The newest backup and the highest part
    /// stay until a later rotation, so a rotation during the pass always leaves a name the listing lacks; one at the
    /// policy's limit of parts adds no name, but only moves parts upward, which <see cref="InReadOrder"/> covers.
    /// </summary>
    private static bool MovedToANewName(string root, HashSet<string> listed)
    {
        string logs = Path.Combine(root, "logs");
        IEnumerable<string> parts = Directory.Exists(logs) ? Directory.EnumerateFiles(logs) : [];
        foreach (string path in Directory.EnumerateFiles(root).Concat(parts))
        {
            string name = Path.GetFileName(path);
            bool renamedInto = StateFiles.Classify(root, path).Kind == StateFileKind.Backup
                || (StateLayout.TryParseSessionLogName(name, out _, out int part) && part > 0);
            if (renamedInto && !listed.Contains(path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The payloads of one file by key, or null when the file went between the listing and the read (beside a running
    /// process a checkpoint deletes journal segments, the backups rotate, the re-encryption renames files over others),
    /// which <paramref name="fileWent"/> is told: the file may live on under another name (see <see cref="Measure"/>).
    /// A symbolic link whose target does not exist did not go: it is added to <paramref name="brokenLinks"/>.
    /// </summary>
    private static (Dictionary<string, long> Keys, bool Clear)? ScanFile(StoredPayloadFile file, List<string> damaged, List<string> unknownKeys,
        List<string> brokenLinks, Action fileWent)
    {
        try
        {
            if (file.TaskArchive)
            {
                return ScanTaskArchive(file.Path, damaged, unknownKeys);
            }

            byte[] bytes = File.ReadAllBytes(file.Path);
            if (file.Kind is { } kind && EnvelopeFormat.HasMagic(bytes)
                && !EnvelopeFormat.ChecksumHolds(bytes, new Serialization.PayloadContext(kind, file.Id!, null).AssociatedData()))
            {
                // A flipped byte in the header would otherwise name a key no ring holds ("missing"): it is damage.
                damaged.Add(file.Path);
                return null;
            }

            if (!file.MovedAside && StateLayout.TryParseSessionLogName(Path.GetFileName(file.Path), out _, out _)
                && FileStore.SessionLog.SessionLogFormat.IsPlainText(bytes))
            {
                // A version 1 log: plain text, whatever bytes it holds (before 2026-12-07 counted nowhere, and an
                // envelope header in its text counted under the key it named: UnframedLogUnderEncryptionTests).
                return (new Dictionary<string, long>(StringComparer.Ordinal), true);
            }

            return Scan(bytes);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            if (new FileInfo(file.Path).LinkTarget is not null)
            {
                brokenLinks.Add(file.Path);
            }
            else
            {
                fileWent();
            }

            return null;
        }
    }

    /// <summary>
    /// Whether a file holds a payload not sealed with <paramref name="activeKeyId"/>: one under another key, or, when a
    /// key is active, one in the clear. What the background re-encryption rewrites.
    /// </summary>
    internal static bool NeedsResealing(ReadOnlySpan<byte> bytes, string? activeKeyId)
    {
        (Dictionary<string, long> keys, bool clear) = Scan(bytes);
        return (clear && activeKeyId is not null) || keys.Keys.Any(key => !string.Equals(key, activeKeyId, StringComparison.Ordinal));
    }

    /// <summary>
    /// <see cref="NeedsResealing"/> for a file holding one standalone payload (a task, session, report or snapshot),
    /// from its first bytes alone and without allocating: what the re-encryption checks for every item file.
    /// </summary>
    internal static bool StandaloneNeedsResealing(ReadOnlySpan<byte> head, string? activeKeyId)
    {
        if (!EnvelopeFormat.HasMagic(head))
        {
            // Plain JSON (the identity codec's forms, or written before envelopes): in the clear.
            return activeKeyId is not null && head.TrimStart(" \t\r\n"u8) is [(byte)'{', ..];
        }

        if (head.Length < EnvelopeFormat.FixedHeaderSize || !EnvelopeFormat.IsKnownVersion(head[4]))
        {
            return false;
        }

        int codecLength = head[6];
        int keyLength = head[7];
        if (EnvelopeFormat.FixedHeaderSize + codecLength + keyLength > head.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> keyId = head.Slice(EnvelopeFormat.FixedHeaderSize + codecLength, keyLength);
        bool clear = keyLength == 0 || head.Slice(EnvelopeFormat.FixedHeaderSize, codecLength).SequenceEqual("identity"u8);
        if (clear)
        {
            return activeKeyId is not null;
        }

        return activeKeyId is null || keyId.Length != activeKeyId.Length || !AsciiEquals(keyId, activeKeyId);
    }

    private static bool AsciiEquals(ReadOnlySpan<byte> bytes, string text)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The sealed entries of a task archive by key (the background re-encryption seals an archive again under the
    /// active key, but until it has, a key its entries use must not be removed); one with none is in the clear.
    /// An archive that does not read whole (<see cref="TaskArchiveFile.Read"/>: gzip, tar, manifest) is damaged, listed
    /// in <paramref name="damaged"/>; the entries that decompress before the damage are counted under their keys all
    /// the same, as they still decrypt with them, and one where none does is listed in <paramref name="unknownKeys"/>.
    /// Before, such an archive counted as in the clear, under no key, and <c>keys retire --remove</c> removed the key
    /// that sealed its intact entries.
    /// </summary>
    private static (Dictionary<string, long> Keys, bool Clear) ScanTaskArchive(string file, List<string> damaged, List<string> unknownKeys)
    {
        byte[] archive = File.ReadAllBytes(file);
        var keys = new Dictionary<string, long>(StringComparer.Ordinal);
        bool clear = false;
        try
        {
            // A whole archive is scanned in the entries its read already decompressed: a second decompression cost
            // keys list (and keys retire --remove, under the key file's lock) a second pass over the archive and a
            // second copy of its content in memory. Counted as the store reads them, by the manifest: a sealed
            // archive's entries each by the envelope it starts with, an archive in the clear under no key. Its
            // entries were searched for the envelope's magic before 2026-12-07, so a session log archived in the
            // clear whose text held an envelope header's bytes (an agent printing a sealed file) counted as a payload
            // under the key that text named (FakeEnvelopeInArchivedLogTests).
            (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(archive, file);
            if (!manifest.Sealed)
            {
                return (keys, true);
            }

            foreach (byte[] entry in entries.Values)
            {
                if (!EnvelopeFormat.HasMagic(entry) || !Counted(entry, keys, ref clear, out _))
                {
                    // Not an envelope where the store opens one: the store's read of it fails as damage, and no key opens it.
                    clear = true;
                }
            }

            return (keys, clear || keys.Count == 0);
        }
        catch (InvalidDataException)
        {
            damaged.Add(file);
        }

        // Damaged: what decompresses before the damage is scanned, tar headers and all.
        using var tar = new MemoryStream();
        try
        {
            using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(archive), System.IO.Compression.CompressionMode.Decompress);
            gzip.CopyTo(tar);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            // The damage found above.
        }

        ScanEnvelopes(tar.GetBuffer().AsSpan(0, (int)tar.Length), keys, ref clear);
        if (keys.Count == 0)
        {
            unknownKeys.Add(file);
        }

        return (keys, false);
    }

    /// <summary>The key ids of the encrypted payloads in one file, and whether it holds anything in the clear.</summary>
    private static (Dictionary<string, long> Keys, bool Clear) Scan(ReadOnlySpan<byte> bytes)
    {
        var keys = new Dictionary<string, long>(StringComparer.Ordinal);
        bool clear = false;
        ushort logVersion = FileStore.SessionLog.SessionLogFormat.HeaderVersion(bytes);
        bool any = logVersion != 0 ? ScanLogFrames(bytes, logVersion, keys, ref clear) : ScanEnvelopes(bytes, keys, ref clear);

        // A file without a binary envelope is plain JSON (the identity codec's forms, or written before envelopes);
        // a session log of the plain frame format holds its text in the clear.
        return (keys, clear || (!any && bytes.TrimStart(" \t\r\n"u8) is [(byte)'{', ..])
            || FileStore.SessionLog.SessionLogFormat.HeaderVersion(bytes) == FileStore.SessionLog.SessionLogFormat.PlainVersion);
    }

    /// <summary>
    /// <see cref="ScanEnvelopes"/> for a framed session log, walked frame by frame: each valid frame's text counts by the
    /// envelope it starts with (in a log of the plain format, only a keyed one, which the store takes for a sign of a
    /// damaged header), and only bytes outside valid frames (damage, a torn tail) are searched anywhere. Before
    /// 2026-12-07 the whole file was searched, and a client's text holding an envelope header's bytes in the middle of
    /// an append counted as a payload under a made-up key (<c>keys list</c> then named it missing).
    /// </summary>
    private static bool ScanLogFrames(ReadOnlySpan<byte> bytes, ushort version, Dictionary<string, long> keys, ref bool clear)
    {
        bool any = false;
        int offset = FileStore.SessionLog.SessionLogFormat.FileHeaderSize;
        while (offset < bytes.Length)
        {
            int size = FileStore.SessionLog.SessionLogFormat.FrameAt(bytes, offset);
            if (size > 0)
            {
                ReadOnlySpan<byte> text = FileStore.SessionLog.SessionLogFormat.Text(bytes, offset, size);
                bool keyed = EnvelopeFormat.HasMagic(text) && EnvelopeFormat.ReadHeader(text, out _, out string codec, out string? keyId) > 0
                    && keyId is not null && codec != "identity";
                if (version == FileStore.SessionLog.SessionLogFormat.EnvelopedVersion || keyed)
                {
                    any |= Counted(text, keys, ref clear, out _);
                }

                offset += size;
                continue;
            }

            long next = FileStore.SessionLog.SessionLogFormat.NextFrame(bytes, offset + 1);
            int end = next < 0 ? bytes.Length : (int)next;
            any |= ScanEnvelopes(bytes[offset..end], keys, ref clear, wholeFile: false);
            offset = end;
        }

        return any;
    }

    /// <summary>
    /// Adds the key ids of the binary envelopes in <paramref name="bytes"/> to <paramref name="keys"/>, sets
    /// <paramref name="clear"/> when one is in the clear (the identity codec), and returns whether there was any.
    /// </summary>
    private static bool ScanEnvelopes(ReadOnlySpan<byte> bytes, Dictionary<string, long> keys, ref bool clear, bool wholeFile = true)
    {
        bool any = false;
        int at = 0;
        while (at < bytes.Length)
        {
            int found = bytes[at..].IndexOf(Magic);
            if (found < 0)
            {
                break;
            }

            int start = at + found;
            at = start + 1;
            if (!Counted(bytes[start..], keys, ref clear, out byte version))
            {
                continue;
            }

            any = true;
            if (wholeFile && start == 0 && version == EnvelopeFormat.SegmentedVersion)
            {
                // A segmented envelope is a whole file under one key: its segments hold no headers of their own.
                break;
            }
        }

        return any;
    }

    /// <summary>
    /// Counts the envelope <paramref name="bytes"/> starts with under its key (or as clear); false when its header
    /// does not hold together (the magic's bytes by chance).
    /// </summary>
    private static bool Counted(ReadOnlySpan<byte> bytes, Dictionary<string, long> keys, ref bool clear, out byte version)
    {
        if (EnvelopeFormat.ReadHeader(bytes, out version, out string codec, out string? keyId) <= 0
            || bytes[5] != 0 || !EnvelopeFormat.IsValidName(codec, required: true))
        {
            return false;
        }

        if (codec == "identity" || keyId is null)
        {
            clear = true;
        }
        else
        {
            keys[keyId] = keys.GetValueOrDefault(keyId) + 1;
        }

        return true;
    }
}

/// <summary>Payloads sealed with one key, and the files holding them.</summary>
/// <param name="Payloads">Payloads (journal records, log frames, whole files).</param>
/// <param name="Files">Files holding at least one of them.</param>
public sealed record KeyUsageCount(long Payloads, long Files);
