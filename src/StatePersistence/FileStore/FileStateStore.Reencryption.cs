using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore : IReencryptingStore, IKeyFileUser
{
    KeyFileProvider? IKeyFileUser.KeyFile => _keyFile;

    /// <summary>Serializes report writes with their re-encryption, so a rewrite never puts back an older report.</summary>
    private readonly Lock _reportWrites = new();

    /// <summary>Backups need no lock of their own (the caller holds the checkpoint lock); this one is never contended.</summary>
    private readonly Lock _backupWrites = new();

    /// <summary>The re-encryption of task archives (<c>archive/tasks.*.tar.gz</c>), with what it already checked.</summary>
    private TaskArchiveResealer? _archiveResealer;

    /// <summary>
    /// Files under another key at the last re-encryption step (health: <c>reencryption_files_remaining</c>);
    /// <see cref="NotCounted"/> until a step has counted them (see <see cref="ReencryptionFigure"/>).
    /// </summary>
    private long _reencryptionRemaining;

    private const long NotCounted = -1;

    /// <summary>
    /// The figure at the open: 0 under the identity codec, which seals nothing (and could open nothing sealed), so 0
    /// needs no count; not counted under any other codec.
    /// </summary>
    private static long StartingReencryptionFigure(IPayloadCodec? codec) => codec is null or IdentityCodec ? 0 : NotCounted;

    /// <summary>Of <see cref="_reencryptionRemaining"/>, the files the last step left for the next checkpoint to rewrite.</summary>
    private long _reencryptionForCheckpoint;

    long? IReencryptingStore.FilesRemaining => ReencryptionFigure;

    /// <summary>
    /// The files not under the active key as a step counted them; null until one has (the health leaves the figure
    /// out, the gauge shows nothing), since 0 is the operator's sign that an old key protects nothing. Read without
    /// asking the codec: a health check must not depend on the key file reading. Before 2026-12-07 the figure was 0
    /// from the open until the first step had counted, and for good with the re-encryption off, with every file under
    /// the old key after a rotation (<c>ReencryptionRemainingBeforeTheFirstCountTests</c>).
    /// </summary>
    private long? ReencryptionFigure => Interlocked.Read(ref _reencryptionRemaining) is >= 0 and var counted ? counted : null;

    string? IReencryptingStore.ActiveKeyId => _envelope.ActiveKeyId;

    IReadOnlyDictionary<string, EncryptionKeyState>? IReencryptingStore.KeyStates => _envelope.KeyStates();

    /// <inheritdoc />
    /// <remarks>
    /// Every rewrite is atomic (temp file, fsync, rename, directory fsync) and seals with the active key only, so a
    /// crash at any point leaves each file whole under its old key or its new one, and the next start's first step
    /// finds what is left. Item files are not written here: their ids are dropped from what the last checkpoint
    /// wrote, so the checkpoint the loop forces next writes them (with <c>state.json</c>, and the journal segments
    /// it covers go). A session log with damage a read repairs is repaired the same way first (copied aside, reported),
    /// then sealed again; a report or backup that does not open (damage) is moved aside and reported, as a read of a
    /// report does. A damaged task archive is left as it is and named in <see cref="ReencryptionStep.Damaged"/> (once).
    /// A log, report, backup or archive that cannot be opened for lack of the right key or codec (a key revoked with
    /// <c>--accept-unreadable</c>) is left exactly as it is, logged at Error once and listed for health (as a read or the
    /// scrub lists such a file, see <see cref="LeftUnreadable"/>), and stays counted as remaining; the step goes on with
    /// the other files and the checkpoint it asks for. Before 2026-12-07 its refusal ended the step, so the forced
    /// checkpoint never ran and <c>state.json</c> and the item files stayed under the revoked key, on every step.
    /// A step that fails has not counted what is left: the figure is not lowered, and not left at 0
    /// (<see cref="NotCountedToTheEnd"/>).
    /// </remarks>
    async ValueTask<ReencryptionStep> IReencryptingStore.ReencryptStepAsync(StateView current, int maxFiles, CancellationToken cancellationToken)
    {
        try
        {
            return await StepAsync(current, maxFiles, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            NotCountedToTheEnd();
            throw;
        }
    }

    /// <summary>
    /// After a re-encryption step that failed: it did not count what is left, so the figure of files remaining keeps
    /// what the last step counted, and is at least 1, the key may have changed since (0 is the operator's sign that an
    /// old key protects nothing). Before 2026-12-07 the first step after a rotation that failed left the finished run's
    /// 0 (<c>ReencryptionRemainingAfterAFailedStepTests</c>).
    /// </summary>
    private void NotCountedToTheEnd() => Interlocked.Exchange(ref _reencryptionRemaining, Math.Max(Interlocked.Read(ref _reencryptionRemaining), 1));

    /// <summary>A checkpoint wrote the item files, <c>state.json</c> and journal the last step left for it, under the active key.</summary>
    private void CheckpointResealed() =>
        Interlocked.Add(ref _reencryptionRemaining, -Interlocked.Exchange(ref _reencryptionForCheckpoint, 0));

    private async ValueTask<ReencryptionStep> StepAsync(StateView current, int maxFiles, CancellationToken cancellationToken)
    {
        _guard.ThrowIfMoved();
        string? active = _envelope.ActiveKeyId;
        if (active is null && !_envelope.HasKeyRing)
        {
            // The identity codec: nothing here can be sealed, and nothing could be opened if it were.
            Interlocked.Exchange(ref _reencryptionRemaining, 0);
            return new ReencryptionStep(null, 0, 0, 0);
        }

        // With a key ring but no active key (encryption being turned off), every sealed payload is rewritten in the clear.

        int forCheckpoint = StaleItems(PayloadKind.Task, _layout.TasksDirectory, active, current, cancellationToken)
            + StaleItems(PayloadKind.Session, _layout.SessionsDirectory, active, current, cancellationToken);
        if (IsStale(_layout.StateFile, active))
        {
            forCheckpoint++;
        }

        foreach (string name in _fileSystem.ListFiles(_layout.JournalDirectory))
        {
            if (JournalReader.TryParseSegmentNumber(name, out _) && IsStale(Path.Combine(_layout.JournalDirectory, name), active, container: true))
            {
                forCheckpoint++;
            }
        }

        int rewritten = 0;
        int left = 0;
        // Session by session, each under its log's gate (see SessionLogs.ResealStaleAsync); rotated parts too: a part
        // left under a retired key could no longer be read.
        long listedAfter = _logs.Rotations;
        var logs = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (string name in _fileSystem.ListFiles(_layout.LogsDirectory))
        {
            if (StateLayout.TryParseSessionLogName(name, out string sessionId, out int part))
            {
                List<int> parts = logs.TryGetValue(sessionId, out List<int>? known) ? known : logs[sessionId] = [];
                if (part > 0)
                {
                    parts.Add(part);
                }
            }
        }

        foreach ((string sessionId, List<int> parts) in logs)
        {
            (int logsRewritten, int logsLeft) = await _logs.ResealStaleAsync(sessionId, parts, listedAfter,
                path => IsStale(path, active, container: true) || (active is not null && _logs.IsPlainTextLog(path)), maxFiles - rewritten, LeftUnreadable,
                cancellationToken).ConfigureAwait(false);
            rewritten += logsRewritten;
            left += logsLeft;
        }

        foreach (string reportId in await ListReportsAsync(cancellationToken).ConfigureAwait(false))
        {
            string path = _layout.ReportFile(reportId);
            if (!IsStale(path, active))
            {
                continue;
            }

            Count(rewritten < maxFiles ? Reseal(path, PayloadKind.Report, reportId, _reportWrites) : Resealed.Left, ref rewritten, ref left);
        }

        foreach (string name in _backups.ListNewestFirst())
        {
            string path = Path.Combine(_layout.Root, name);
            if (!IsStale(path, active))
            {
                continue;
            }

            // Backups are sealed again rather than rotated out: they are the recovery points a damaged state.json
            // falls back to. The caller holds the checkpoint lock, so no rotation renames or deletes one meanwhile.
            Count(rewritten < maxFiles ? Reseal(path, PayloadKind.Snapshot, FileRecovery.SnapshotId, _backupWrites) : Resealed.Left, ref rewritten, ref left);
        }

        // Task archives last: each is one file, read whole, its entries sealed again one by one.
        _archiveResealer ??= new TaskArchiveResealer(this, _fileSystem, _layout);
        ArchiveResealing archives = _archiveResealer.Step(active, maxFiles - rewritten, cancellationToken);
        rewritten += archives.Rewritten;
        left += archives.Left;
        OffTheUnreadableList(active);

        Interlocked.Exchange(ref _reencryptionRemaining, forCheckpoint + left);
        Interlocked.Exchange(ref _reencryptionForCheckpoint, forCheckpoint);
        return new ReencryptionStep(active, rewritten, forCheckpoint, forCheckpoint + left) { Damaged = archives.Damaged };
    }

    /// <summary>Drops the stale item files' ids from what the last checkpoint wrote; returns how many.</summary>
    private int StaleItems(PayloadKind kind, string directory, string? active, StateView current, CancellationToken cancellationToken)
    {
        ImmutableSortedDictionary<string, StoredItem> written = kind == PayloadKind.Task ? _filesView.Tasks : _filesView.Sessions;
        ImmutableSortedDictionary<string, StoredItem> live = kind == PayloadKind.Task ? current.Tasks : current.Sessions;
        var stale = new List<string>();
        foreach (string name in _fileSystem.ListFiles(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The header first: the id's string is only made for the few files that need it.
            if (StateLayout.IsItemFile(name) && IsStale(Path.Combine(directory, name), active) && StateLayout.ItemId(name) is { } id && live.ContainsKey(id))
            {
                stale.Add(id);
            }
        }

        _filesView = kind == PayloadKind.Task ? _filesView with { Tasks = written.RemoveRange(stale) } : _filesView with { Sessions = written.RemoveRange(stale) };
        return stale.Count;
    }

    /// <summary>
    /// Whether the file holds a payload not under <paramref name="active"/>. A standalone payload (a task, session,
    /// report, snapshot) is told by its envelope header alone, so only its first bytes are read: a start-up over 100k
    /// item files reads their headers, not their content. A container of payloads (a journal segment, a session log)
    /// is read in chunks through one pooled buffer, up to its first payload under another key.
    /// </summary>
    private bool IsStale(string path, string? active, bool container = false)
    {
        try
        {
            if (container)
            {
                return ContainerKeyScan.NeedsResealing(_fileSystem, path, active);
            }

            Span<byte> head = stackalloc byte[HeadSize];
            return EncryptionKeyUsage.StandaloneNeedsResealing(ReadHead(path, head), active);
        }
        catch (FileNotFoundException)
        {
            return false; // deleted meanwhile (a rotated backup, a deleted item): nothing to re-encrypt
        }
    }

    /// <summary>Enough for the longest envelope header (two names of 255 bytes).</summary>
    private const int HeadSize = 1024;

    /// <summary>The first bytes of a file, into <paramref name="head"/>: a start-up over 100k item files allocates nothing per file but its path.</summary>
    private ReadOnlySpan<byte> ReadHead(string path, Span<byte> head) => head[.._fileSystem.ReadHead(path, head)];

    /// <summary>What became of a standalone payload the re-encryption took up (or, past the step's budget, did not).</summary>
    private enum Resealed
    {
        /// <summary>Written back sealed under the active key.</summary>
        Rewritten,

        /// <summary>Left for a later step: past the budget, or gone since the listing (the next listing decides).</summary>
        Left,

        /// <summary>Damaged (it does not open): moved aside and reported, as a read moves a damaged report aside.</summary>
        MovedAside,

        /// <summary>Not opened for lack of the right key or codec: left as it is, listed (<see cref="LeftUnreadable"/>), and counted as left.</summary>
        Unreadable,
    }

    /// <summary>Counts a file <see cref="Reseal(string, PayloadKind, string, Lock)"/> took up: one moved aside is neither rewritten nor left.</summary>
    private static void Count(Resealed resealed, ref int rewritten, ref int left)
    {
        if (resealed == Resealed.Rewritten)
        {
            rewritten++;
        }
        else if (resealed is Resealed.Left or Resealed.Unreadable)
        {
            left++;
        }
    }

    /// <summary>
    /// Opens a standalone payload (a report, a backup) and writes it back sealed under the active key. One that does
    /// not open is damage: moved aside and reported (a report as its read does, its index kept). Left where it was, it
    /// stayed under the old key on every step, and the run never finished, naming nothing.
    /// </summary>
    private Resealed Reseal(string path, PayloadKind kind, string id, Lock gate)
    {
        using Lock.Scope scope = gate.EnterScope();
        byte[] plain;
        try
        {
            plain = _envelope.Open(kind, id, _fileSystem.ReadAllBytes(path), path);
        }
        catch (FileNotFoundException)
        {
            return Resealed.Left;
        }
        catch (InvalidDataException ex)
        {
            string reason = $"{(kind == PayloadKind.Report ? "report" : "backup")} damaged, found by the re-encryption: {ex.Message}";
            if (kind == PayloadKind.Report)
            {
                RaiseQuarantined(QuarantineReport(id, path, reason));
                return Resealed.MovedAside;
            }

            return KeepAside(path, reason) is null ? Resealed.Left : Resealed.MovedAside;
        }
        catch (StateFormatException ex)
        {
            // A key the ring lacks or has revoked, or another codec: no damage, and nothing to move aside.
            LeftUnreadable(ex, path);
            return Resealed.Unreadable;
        }

        AtomicFile.Write(_fileSystem, _layout, path, _envelope.Seal(kind, id, plain), Durability.Full);
        return Resealed.Rewritten;
    }

    /// <summary>
    /// Files the re-encryption left because they could not be opened, which it listed in <see cref="_unreadable"/>;
    /// touched only by a step, under the checkpoint lock.
    /// </summary>
    private readonly HashSet<string> _leftUnreadable = new(StringComparer.Ordinal);

    /// <summary>
    /// A file the re-encryption could not open for lack of the right key or codec: left exactly as it is (it may be
    /// intact, and the key may come back), listed for health until it opens or goes (health Degraded naming it and the
    /// key, <c>unreadable_files</c>), and logged at Error once, naming the file and why.
    /// </summary>
    internal void LeftUnreadable(StateFormatException refusal, string path)
    {
        _leftUnreadable.Add(path);
        if (_unreadable.Add(refusal, path))
        {
            Log.ReencryptionLeftUnreadable(_logger, _layout.Root, path, refusal.Message);
        }
    }

    /// <summary>
    /// Takes off the health list each file the re-encryption left unopened that is no longer under another key (sealed
    /// again now, its key back) or is gone (a backup rotated out). Task archives are the resealer's to judge.
    /// </summary>
    private void OffTheUnreadableList(string? active)
    {
        foreach (string path in _leftUnreadable.ToArray())
        {
            bool archive = path.EndsWith(Operations.TaskArchives.FileExtension, StringComparison.Ordinal);
            if (!archive && !IsStale(path, active, container: Path.GetDirectoryName(path) == _layout.LogsDirectory))
            {
                OpenedOrGone(path);
            }
        }
    }

    /// <summary>A file the re-encryption had left unopened is sealed as it should be now, or gone: off the health list.</summary>
    internal void OpenedOrGone(string path)
    {
        if (_leftUnreadable.Remove(path))
        {
            _unreadable.Remove(path);
        }
    }
}
