using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// <c>logs/session_&lt;id&gt;.log</c>: appended text, one checksummed frame per append (<see cref="SessionLogFormat"/>),
/// so what was acknowledged comes back byte for byte (trailing NULs included) and damage is detected. An append under
/// <see cref="Durability.Full"/> is fsynced before it returns, and so is the directory, the first time this process
/// appends to a log (and the first time after a rotation, cut, repair or deletion renamed or deleted its file): a log
/// that merely exists may have been created by an append that failed, or by a process killed before it fsynced the
/// directory, and its name would then not survive a power cut.
/// <para>After a failed append the next one starts where the failed one did, cutting off what it left: when fsync
/// fails Linux may keep the pages readable but never write them (fsyncgate). A marker file
/// (<c>session_&lt;id&gt;.log.failed</c>, holding that offset) tells the next start to cut it off too, so the failed text
/// is never served after a restart nor left between acknowledged appends.</para>
/// </summary>
internal sealed partial class SessionLogs(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, TimeProvider time, Action<QuarantinedFile> quarantined)
{
    public const string FailedMarkerSuffix = ".failed";
    private readonly KeyedGates _gates = new();
    private readonly LogScanMarks _scans = new();
    private readonly ConcurrentDictionary<string, bool> _namesMadeDurable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failedAppendStarts = new(StringComparer.Ordinal);
    /// <summary>The file header version new frames of each log go in, once this process prepared the log.</summary>
    private readonly ConcurrentDictionary<string, ushort> _versions = new(StringComparer.Ordinal);

    /// <summary>
    /// The sessions whose logs may have rotated parts: those start-up found, and every log rotated since (a removal
    /// takes its session out). Null until start-up's listing of <c>logs/</c> (<see cref="RepairTails"/>): every read
    /// then lists the folder. Without it, every open of a log listed the whole folder to find its parts, though most
    /// logs never rotate: thousands of names a read, for a client tailing one log.
    /// </summary>
    private HashSet<string>? _withParts;
    private readonly Lock _partsGate = new();

    /// <summary>Counts every rotation of any log (see <see cref="Rotations"/>).</summary>
    private long _rotations;

    /// <summary>Per log, the value <see cref="_rotations"/> took at its last rotation.</summary>
    private readonly ConcurrentDictionary<string, long> _lastRotation = new(StringComparer.Ordinal);

    /// <summary>
    /// How many rotations (a log shifted into its parts) there have been: read before a listing of the folder, it tells
    /// <see cref="ResealStaleAsync"/> whether a log's parts may have moved since the listing.
    /// </summary>
    public long Rotations => Interlocked.Read(ref _rotations);

    public async ValueTask AppendAsync(string sessionId, ReadOnlyMemory<byte> text, Durability durability, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            AppendUnderGate(sessionId, text, durability);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Appends <paramref name="text"/> as the log's first text when the session has no log, else writes nothing and
    /// returns false: looked at and written under the log's gate, which every append, rotation and removal takes. A log
    /// is there when any of its files is (what <see cref="Read"/> reads as null is none).
    /// </summary>
    public async ValueTask<bool> TryCreateAsync(string sessionId, ReadOnlyMemory<byte> text, Durability durability, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (HasFilesHeld(sessionId))
            {
                return false;
            }

            AppendUnderGate(sessionId, text, durability);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Whether the session has a log (any of its files: what <see cref="Read"/> reads as null is none), looked at
    /// under the log's gate and without opening a file.
    /// </summary>
    public bool Exists(string sessionId)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        gate.Wait();
        try
        {
            return HasFilesHeld(sessionId);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Whether the live log or a rotated part is there, for a caller holding the log's gate.</summary>
    private bool HasFilesHeld(string sessionId) => fileSystem.FileExists(layout.SessionLogFile(sessionId)) || RotatedParts(sessionId).Count > 0;

    private void AppendUnderGate(string sessionId, ReadOnlyMemory<byte> text, Durability durability)
    {
        string path = layout.SessionLogFile(sessionId);
        if (!_versions.TryGetValue(sessionId, out ushort version))
        {
            version = Prepare(sessionId, path, durability);
            _versions[sessionId] = version;
        }

        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.OpenOrCreate);
        long start = _failedAppendStarts.TryGetValue(sessionId, out long failedStart) ? failedStart : FramedEnd(handle);
        try
        {
            if (handle.Length > start)
            {
                handle.SetLength(start);
            }

            handle.Write(start, SessionLogFormat.Frame(version == SessionLogFormat.EnvelopedVersion ? Seal(sessionId, text.Span) : text.Span,
                start == 0 ? version : null));
            if (durability == Durability.Full)
            {
                handle.Sync();
                if (!_namesMadeDurable.ContainsKey(sessionId))
                {
                    fileSystem.SyncDirectory(layout.LogsDirectory);
                    _namesMadeDurable[sessionId] = true;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _scans.Forget(sessionId);
            _failedAppendStarts[sessionId] = start;
            throw new IOException(ex.Message + MarkFailed(path, start, durability), ex);
        }

        if (_failedAppendStarts.ContainsKey(sessionId))
        {
            // The failed text is cut off and this append is durable; the marker goes before it is acknowledged.
            string marker = path + FailedMarkerSuffix;
            if (fileSystem.FileExists(marker))
            {
                fileSystem.Delete(marker);
                fileSystem.SyncDirectory(layout.LogsDirectory);
            }

            _failedAppendStarts.TryRemove(sessionId, out _);
        }
    }

    /// <summary>
    /// The background re-encryption of one session's log files (the live log, then its rotated parts): each one
    /// <paramref name="isStale"/> names (a payload under another key) is rewritten with every frame sealed again under
    /// the active key, up to <paramref name="budget"/> files; the rest are counted as left. All under the log's gate,
    /// which a rotation takes too: looked at file by file with rotations in between, a part not yet looked at could be
    /// shifted into a number already done or one the listing lacked, and stay under the old key once the run reported
    /// nothing left. Damage a read repairs is repaired first (see <see cref="Reseal(string, int)"/>); a live log with a
    /// failed append pending is left for start-up's repair (counted as left). A file that cannot be opened for lack of
    /// the right key or codec (a key revoked since) is left exactly as it is, counted as left and handed to
    /// <paramref name="refused"/>, and the other files go on: before 2026-12-07 its refusal ended the step.
    /// </summary>
    /// <param name="sessionId">The session whose log files to look at.</param>
    /// <param name="listedParts">Its rotated parts in the caller's listing of the folder, which was taken after
    /// <see cref="Rotations"/> read <paramref name="listedAfter"/>: used as they are unless a rotation of this log came
    /// since (the folder is then listed again, under the gate), so a step lists the folder once, not once a session.</param>
    /// <param name="listedAfter">See <paramref name="listedParts"/>.</param>
    /// <param name="isStale">Whether a file holds a payload under another key.</param>
    /// <param name="budget">How many files may be rewritten.</param>
    /// <param name="refused">Told of each file left for lack of the right key or codec, with the refusal.</param>
    /// <param name="cancellationToken">Stops between files.</param>
    public async ValueTask<(int Rewritten, int Left)> ResealStaleAsync(string sessionId, IEnumerable<int> listedParts, long listedAfter,
        Func<string, bool> isStale, int budget, Action<StateFormatException, string> refused, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int rewritten = 0;
            int left = 0;
            IEnumerable<int> parts = _lastRotation.GetValueOrDefault(sessionId) > listedAfter ? RotatedParts(sessionId) : listedParts;
            foreach (int part in parts.Order().Prepend(0))
            {
                cancellationToken.ThrowIfCancellationRequested();
                string path = layout.SessionLogPart(sessionId, part);
                if (!fileSystem.FileExists(path) || !isStale(path))
                {
                    continue;
                }

                if (rewritten < budget && TryReseal(sessionId, part, refused))
                {
                    rewritten++;
                }
                else
                {
                    left++;
                }
            }

            return (rewritten, left);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// <see cref="Reseal(string, int)"/>, with a refusal for lack of the right key or codec handed to
    /// <paramref name="refused"/> (the file stays as it was: the rewrite goes through a temp file) instead of thrown.
    /// </summary>
    private bool TryReseal(string sessionId, int part, Action<StateFormatException, string> refused)
    {
        try
        {
            return Reseal(sessionId, part);
        }
        catch (StateFormatException ex)
        {
            refused(ex, layout.SessionLogPart(sessionId, part));
            return false;
        }
    }

    /// <summary>
    /// Rewrites one log file (<paramref name="part"/> 0 is the live log, from 1 a rotated part) a frame at a time (see
    /// <see cref="Reseal(string, string, IFileHandle, out bool)"/>); the caller holds the log's gate, so no append
    /// interleaves. Damage a read repairs (between appends, a damaged header, a broken end) is repaired first, as a read
    /// would. Returns whether it was rewritten.
    /// </summary>
    private bool Reseal(string sessionId, int part)
    {
        string path = layout.SessionLogPart(sessionId, part);
        if (part == 0 && _failedAppendStarts.ContainsKey(sessionId))
        {
            return false;
        }

        _scans.Forget(sessionId);
        if (part == 0)
        {
            // The live log is replaced by a rename: its name is known durable again once the directory fsync succeeded.
            ForgetNameDurable(sessionId);
        }

        // A version 1 log (plain text from a build before framing, not appended to since) is framed and sealed as its
        // first append under this codec would frame it. Left as it was, its text stayed in the clear for good once
        // encryption was on, counted nowhere (UnframedLogUnderEncryptionTests).
        bool damaged = false;
        ushort? written = IsPlainTextLog(path) ? Prepare(sessionId, path, Durability.Full) : Reseal(sessionId, path, out damaged);
        if (written is null && damaged)
        {
            // Damage a read would repair: repaired the same way (copied aside, reported), then sealed again. Left as it
            // was, the log stayed under the old key on every step, and the re-encryption never finished.
            RepairHeld(sessionId, path);
            written = Reseal(sessionId, path, out _);
        }

        if (written is not { } version)
        {
            return false;
        }

        if (part == 0)
        {
            _versions[sessionId] = version;
            _namesMadeDurable[sessionId] = true;
        }

        return true;
    }

    /// <summary>
    /// The log's text: its rotated parts' text, oldest first, then the live log's; of each file every valid frame's
    /// text in order. What a failed append left is not text. Damage between valid frames, and bytes after the last one
    /// (read under the log's gate they are damage: <see cref="BrokenEnd"/>), are repaired (see <see cref="RepairHeld"/>).
    /// Null when the session has no log.
    /// <para>The files are read under the log's gate and their frames opened after it is let go. When one of them needs
    /// a repair, the log is read again and repaired under one hold of the gate: repaired after the gate was let go, by
    /// its path, the file repaired could be another than the one read (a rotation in between had moved the live log to
    /// the damaged part's name), and the read served the live log's text twice and none of the damaged part's
    /// (SessionLogRepairRaceTests).</para>
    /// </summary>
    public byte[]? Read(string sessionId)
    {
        List<(string Path, byte[] Bytes)> files;
        KeyedGates.Lease gate = _gates.Take(sessionId);
        gate.Wait();
        try
        {
            files = ReadFilesHeld(sessionId);
        }
        finally
        {
            gate.Release();
        }

        if (TryTextOfFiles(sessionId, files, gateHeld: false, out byte[]? text))
        {
            return text;
        }

        gate = _gates.Take(sessionId);
        gate.Wait();
        try
        {
            return ReadHeld(sessionId);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary><see cref="Read"/> for a caller that holds the log's gate (a damaged file is repaired under that hold).</summary>
    private byte[]? ReadHeld(string sessionId)
    {
        TryTextOfFiles(sessionId, ReadFilesHeld(sessionId), gateHeld: true, out byte[]? text);
        return text;
    }

    /// <summary>
    /// The text of the files read in <paramref name="text"/> (null when there are none: no log). False when a file
    /// needs a repair and the caller does not hold the log's gate (<paramref name="gateHeld"/>): it is repaired under
    /// a hold that reads the files again. Always true for a caller holding the gate.
    /// </summary>
    private bool TryTextOfFiles(string sessionId, List<(string Path, byte[] Bytes)> files, bool gateHeld, out byte[]? text)
    {
        text = null;
        if (files.Count == 1)
        {
            text = TextOf(sessionId, files[0].Path, files[0].Bytes, gateHeld);
            return text is not null;
        }

        var all = new ArrayBufferWriter<byte>();
        foreach ((string path, byte[] bytes) in files)
        {
            if (TextOf(sessionId, path, bytes, gateHeld) is not { } fileText)
            {
                return false;
            }

            all.Write(fileText);
        }

        text = files.Count == 0 ? null : all.WrittenSpan.ToArray();
        return true;
    }

    /// <summary>
    /// The bytes of the log's files, rotated parts from the oldest, then the live log (when there is one), read by a
    /// caller holding the log's gate so no rotation moves a part between two reads (the text would then come twice or
    /// not at all).
    /// </summary>
    private List<(string Path, byte[] Bytes)> ReadFilesHeld(string sessionId)
    {
        var files = new List<(string, byte[])>();
        foreach (int part in RotatedParts(sessionId).OrderDescending())
        {
            string partPath = layout.SessionLogPart(sessionId, part);
            if (fileSystem.FileExists(partPath))
            {
                files.Add((partPath, fileSystem.ReadAllBytes(partPath)));
            }
        }

        string path = layout.SessionLogFile(sessionId);
        if (fileSystem.FileExists(path))
        {
            byte[] bytes = fileSystem.ReadAllBytes(path);
            if (_failedAppendStarts.TryGetValue(sessionId, out long failedStart) && failedStart < bytes.Length)
            {
                // What a failed append left may be readable but is not durable: never served.
                bytes = bytes[..(int)failedStart];
            }

            files.Add((path, bytes));
        }

        return files;
    }

    /// <summary>The numbers of the session's rotated parts on disk (a crash in a rotation may leave a gap).</summary>
    public List<int> RotatedParts(string sessionId)
    {
        if (!MayHaveParts(sessionId))
        {
            return [];
        }

        var parts = new List<int>();
        foreach (string name in fileSystem.ListFiles(layout.LogsDirectory))
        {
            if (StateLayout.TryParseSessionLogName(name, out string id, out int part) && part > 0 && id == sessionId)
            {
                parts.Add(part);
            }
        }

        return parts;
    }

    private bool MayHaveParts(string sessionId)
    {
        lock (_partsGate)
        {
            return _withParts is null || _withParts.Contains(sessionId);
        }
    }

    /// <summary>
    /// Before the live log's name is renamed, replaced or deleted: the next append must make its name durable again
    /// (a directory fsync). Forgotten before the change, and remembered again only after a directory fsync that
    /// followed it succeeded: when the rename or deletion went through and the fsync after it failed, a remembered name
    /// let the next append create a fresh log, fsync its data and acknowledge it at <see cref="Durability.Full"/>
    /// without the directory fsync, and a power cut then took the acknowledged text with the name.
    /// </summary>
    private void ForgetNameDurable(string sessionId) => _namesMadeDurable.TryRemove(sessionId, out _);

    /// <summary>Records that <paramref name="sessionId"/>'s log may have parts (<paramref name="may"/>) or has none left.</summary>
    private void NoteParts(string sessionId, bool may)
    {
        lock (_partsGate)
        {
            if (may)
            {
                _withParts?.Add(sessionId);
            }
            else
            {
                _withParts?.Remove(sessionId);
            }
        }
    }

    /// <summary>
    /// One file's text (the live log or a part); null when it needs a repair and the caller does not hold the log's
    /// gate (<paramref name="gateHeld"/>).
    /// </summary>
    private byte[]? TextOf(string sessionId, string path, byte[] bytes, bool gateHeld)
    {
        if (!SessionLogFormat.IsFramed(bytes) && SessionLogFormat.NextFrame(bytes, 0) < 0)
        {
            return SessionLogFormat.IsTornFileHeader(bytes) ? [] : bytes;
        }

        // Framed, or framed with its file header damaged (valid frames follow): the damage is found and repaired below.

        (byte[] text, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames, string? headerProblem) = Parse(sessionId, path, bytes);
        return damage.Count == 0 && headerProblem is null && BrokenEnd(sessionId, path, bytes.Length, damage, frames) is null ? text
            : gateHeld ? RepairHeld(sessionId, path).Text : null;
    }

    /// <summary>
    /// The text of every valid frame, the damaged ranges between them, and the raw valid frames. In a version 3 log a
    /// frame whose envelope does not open (its codec cannot decode it, or it is bound to another session) is damage.
    /// <para>A frame's checksum does not cover the session it is bound to, so a tag that fails on an intact frame is
    /// either a frame of another session's log or other key material under its key id. It is damage only when another
    /// frame of this log opened under the same key id, which proves the key material; when none did, the whole log is
    /// refused with the <see cref="StateFormatException"/> (nothing changed), as the wrong key is refused anywhere.</para>
    /// <para>A damaged file header (<see cref="FileHeaderCheck"/>) is named in <c>HeaderProblem</c>: one that is not a
    /// header over valid frames, or one saying plain text over frames holding envelopes that open, which are opened.</para>
    /// </summary>
    public (byte[] Text, List<(long Offset, long Length)> Damage, List<(long Offset, int Size)> Frames, string? HeaderProblem) Parse(string sessionId, string path, byte[] bytes)
    {
        bool enveloped = IsEnveloped(bytes);
        bool envelopesInPlain = false;
        var text = new ArrayBufferWriter<byte>(Math.Max(1, bytes.Length));
        var damage = new List<(long Offset, long Length)>();
        var frames = new List<(long, int)>();
        var provenKeys = new HashSet<string>(StringComparer.Ordinal);
        var notAuthenticated = new List<(long Offset, int Size, StateFormatException Refusal)>();
        long offset = SessionLogFormat.FileHeaderSize;
        while (offset < bytes.Length)
        {
            int size = SessionLogFormat.FrameAt(bytes, offset);
            if (size > 0)
            {
                ReadOnlySpan<byte> stored = SessionLogFormat.Text(bytes, offset, size);
                try
                {
                    text.Write(OpenFrame(sessionId, stored, enveloped, path, ref envelopesInPlain, out string? keyId));
                    frames.Add((offset, size));
                    if (keyId is not null)
                    {
                        provenKeys.Add(keyId);
                    }
                }
                catch (InvalidDataException)
                {
                    damage.Add((offset, size));
                }
                catch (StateFormatException refusal) when (refusal.KeyMaterialDiffers)
                {
                    notAuthenticated.Add((offset, size, refusal));
                }

                offset += size;
                continue;
            }

            long next = SessionLogFormat.NextFrame(bytes, offset + 1);
            if (next < 0)
            {
                break;
            }

            damage.Add((offset, next - offset));
            offset = next;
        }

        foreach ((long at, int size, StateFormatException refusal) in notAuthenticated)
        {
            if (refusal.KeyId is null || !provenKeys.Contains(refusal.KeyId))
            {
                throw refusal;
            }

            damage.Add((at, size));
        }

        damage.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        string? headerProblem = FileHeaderCheck.IsDamaged(SessionLogFormat.HeaderVersion(bytes), frames.Count, envelopesInPlain)
            ? FileHeaderCheck.Problem(envelopesInPlain)
            : null;
        return (text.WrittenSpan.ToArray(), damage, frames, headerProblem);
    }

    /// <summary>
    /// A valid frame's text opened, as <see cref="Parse"/> and <see cref="Scan"/> both read it: in a log whose frames hold
    /// envelopes (<paramref name="enveloped"/>) through its envelope; under a header saying plain text, an envelope that
    /// opens all the same (the header is damaged: <see cref="FileHeaderCheck"/>, noted in
    /// <paramref name="envelopesInPlain"/>), else the text as stored. <paramref name="keyId"/> is the key id of a frame
    /// read as an envelope, which opening it proved.
    /// </summary>
    private ReadOnlySpan<byte> OpenFrame(string sessionId, ReadOnlySpan<byte> stored, bool enveloped, string path, ref bool envelopesInPlain, out string? keyId)
    {
        keyId = null;
        if (!enveloped)
        {
            if (!FileHeaderCheck.HoldsEnvelope(envelope, sessionId, stored, path, out ReadOnlySpan<byte> opened))
            {
                return stored;
            }

            envelopesInPlain = true;
            keyId = KeyIdOf(stored);
            return opened;
        }

        ReadOnlySpan<byte> text = envelope.OpenRecord(PayloadKind.SessionLogAppend, sessionId, stored, path);
        keyId = KeyIdOf(stored);
        return text;
    }

    /// <summary>The key id a frame's envelope names (its header, known intact: the frame's checksum held).</summary>
    private static string? KeyIdOf(ReadOnlySpan<byte> stored)
    {
        EnvelopeFormat.ReadHeader(stored, out _, out _, out string? keyId);
        return keyId;
    }

    /// <summary>
    /// Whether a log's frames hold envelopes: its header says version 3, or, with its header damaged, its first valid
    /// frame starts with the envelope's magic.
    /// </summary>
    private static bool IsEnveloped(byte[] bytes)
    {
        ushort version = SessionLogFormat.HeaderVersion(bytes);
        if (version != 0)
        {
            return version == SessionLogFormat.EnvelopedVersion;
        }

        long first = SessionLogFormat.NextFrame(bytes, 0);
        return first >= 0 && EnvelopeFormat.HasMagic(SessionLogFormat.Text(bytes, first, SessionLogFormat.FrameAt(bytes, first)));
    }

    /// <summary>An append's text sealed in the envelope, bound to its session.</summary>
    private byte[] Seal(string sessionId, ReadOnlySpan<byte> text)
    {
        var output = new ArrayBufferWriter<byte>(text.Length + 32);
        envelope.SealRecord(output, PayloadKind.SessionLogAppend, sessionId, text);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Where the next frame goes: after the last valid frame (the end, once start-up repaired the tail).</summary>
    private static long FramedEnd(IFileHandle handle) => handle.Length < SessionLogFormat.FileHeaderSize ? 0 : handle.Length;

    /// <summary>
    /// Whether the log file at <paramref name="path"/> is a version 1 log (<see cref="SessionLogFormat.IsPlainText"/>):
    /// its header alone is read unless it has none, which only such a log and a damaged one lack.
    /// </summary>
    public bool IsPlainTextLog(string path)
    {
        try
        {
            using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read))
            {
                Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
                if (handle.Length == 0 || (handle.Read(0, header) == header.Length && SessionLogFormat.IsFramed(header)))
                {
                    return false;
                }
            }

            return SessionLogFormat.IsPlainText(fileSystem.ReadAllBytes(path));
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>How many logs' gates exist now (held or waited for): none while no operation on a log is in progress.</summary>
    public int GatesInUse => _gates.Count;

    /// <summary>Records where a failed append started; returns text for the error message if that failed too.</summary>
    private string MarkFailed(string path, long start, Durability durability)
    {
        string marker = path + FailedMarkerSuffix;
        try
        {
            AtomicFile.Write(fileSystem, layout, marker, Encoding.ASCII.GetBytes(start.ToString(CultureInfo.InvariantCulture)), durability);
            return "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $" (recording the failed append in '{marker}' for the next start failed too: {ex.Message})";
        }
    }
}
