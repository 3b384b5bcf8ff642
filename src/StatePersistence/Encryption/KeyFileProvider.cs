using StatePersistence.FileSystem;

namespace StatePersistence.Encryption;

/// <summary>
/// Keys from a key file (<see cref="EncryptionKeyFile"/>). The file is read when the provider is made (so a missing,
/// loose or invalid file stops the start) and read again when it changes, checked at most once per
/// <see cref="RecheckInterval"/>: a key rotated into the file by <c>statectl keys rotate</c> is used by a running
/// process without a restart. <see cref="Reload"/> reads it at once.
/// A reload never drops a key this process holds that payloads may be sealed with (the active key, which sealed up to
/// the reload, and a retired one the state directory still holds payloads under): a file written back from an older
/// copy of the ring (two key changes at once, a restored backup) would otherwise make them unreadable for good, since
/// the material is then nowhere else. Such a key is kept in memory, retired, so what it sealed still opens and the
/// background re-encryption rewrites it under the active key; <see cref="KeptKeys"/> names it for the log, the
/// metrics and the health check.
/// <para>
/// A changed file that does not read is read once: its failure stands for every caller (each gets it at once, none
/// reads the file again) while the file stays as it was when it failed, and the file is read again as soon as it
/// changes, put right or broken otherwise (<see cref="FailedFile"/>).
/// </para>
/// </summary>
public sealed class KeyFileProvider : IEncryptionKeyProvider
{
    /// <summary>How often the file is checked for a change.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private readonly string? _stateDirectory;
    private readonly TimeProvider _time;
    private readonly Func<string, string?, EncryptionKeyRing> _read;
    private readonly Lock _gate = new();
    private EncryptionKeyRing _ring;
    private IReadOnlyList<string> _kept = [];
    private KeyFileVersion _version;
    private long _checkedAt;
    private FailedFile? _failed;

    /// <summary>
    /// Reads the key file at <paramref name="path"/>; refuses it (with <see cref="Errors.StatePersistenceException"/>)
    /// inside <paramref name="stateDirectory"/> or when looser than 0600.
    /// </summary>
    public KeyFileProvider(string path, string? stateDirectory = null, TimeProvider? timeProvider = null)
        : this(path, stateDirectory, timeProvider, EncryptionKeyFile.Read)
    {
    }

    /// <summary>The provider with <paramref name="read"/> for its reads of the file (a test counts or holds them).</summary>
    internal KeyFileProvider(string path, string? stateDirectory, TimeProvider? timeProvider, Func<string, string?, EncryptionKeyRing> read)
    {
        _stateDirectory = stateDirectory;
        _time = timeProvider ?? TimeProvider.System;
        _read = read;
        Path = EncryptionKeyFile.CheckLocation(path, stateDirectory);
        _version = VersionOfFile();
        _ring = read(Path, stateDirectory);
        _checkedAt = _time.GetTimestamp();
    }

    /// <summary>The key file's full path.</summary>
    public string Path { get; }

    /// <summary>
    /// The ids of the keys kept in memory although the key file no longer holds them, because payloads may be sealed
    /// with them; empty normally. A restart loses them: what they seal must be rewritten first.
    /// </summary>
    internal IReadOnlyList<string> KeptKeys => Volatile.Read(ref _kept);

    /// <inheritdoc />
    public EncryptionKeyRing GetKeyRing()
    {
        if (Volatile.Read(ref _failed) is { } failed)
        {
            RetryIfChanged(failed);
        }
        else if (_time.GetElapsedTime(Volatile.Read(ref _checkedAt)) >= RecheckInterval)
        {
            ReloadIfChanged();
        }

        if (Volatile.Read(ref _failed) is { } standing)
        {
            // Every caller fails alike while the file does not read. Before 2026-12-07 each one read and parsed it again,
            // and every caller meanwhile found that read in progress and went on with the ring in memory: under load some
            // writes sealed with the ring the operator had replaced (BrokenKeyFileReadOnceTests).
            throw standing.Refusal();
        }

        return Volatile.Read(ref _ring);
    }

    /// <summary>
    /// Why the key file cannot be used now, or null: it changed and no longer reads (not JSON, a bad key, a mode looser
    /// than 0600, gone), checked as every payload checks it (at most once per <see cref="RecheckInterval"/> while it reads,
    /// at every call while it does not: a look at its metadata, the file read again only once that changed). Every write
    /// that seals fails while it is so, whether or not one was tried: what the health check reports (before 2026-12-07 an
    /// idle server stayed Healthy over such a file, and a minute after a failed save went back to Degraded).
    /// </summary>
    internal string? Problem()
    {
        try
        {
            GetKeyRing();
            return null;
        }
        catch (Exception ex) when (ex is Errors.StatePersistenceException or IOException or UnauthorizedAccessException)
        {
            // The reads' refusals end by saying the refused start or command changed nothing: not what a health reason means.
            const string NothingChanged = " Nothing was changed.";
            return ex.Message.EndsWith(NothingChanged, StringComparison.Ordinal) ? ex.Message[..^NothingChanged.Length] : ex.Message;
        }
    }

    /// <summary>Reads the key file again now and returns its ring.</summary>
    public EncryptionKeyRing Reload()
    {
        lock (_gate)
        {
            // Looked at before the read: a change during the read makes the next call read again.
            KeyFileVersion version = VersionOfFile();
            FileLook look = LookOf(version);
            EncryptionKeyRing fromFile;
            try
            {
                fromFile = _read(Path, _stateDirectory);
            }
            catch (Exception ex) when (ex is Errors.StatePersistenceException or IOException or UnauthorizedAccessException)
            {
                Volatile.Write(ref _failed, new FailedFile(look, ex));
                throw;
            }

            Volatile.Write(ref _ring, WithKeysStillNeeded(fromFile));
            _version = version;
            Volatile.Write(ref _failed, null);
            Volatile.Write(ref _checkedAt, _time.GetTimestamp());
            return _ring;
        }
    }

    /// <summary>
    /// While the file has not read since it changed: reads it again when it no longer looks as it did at that failure,
    /// checked at every call (no read, a look at its metadata), so a file put right is used by the next operation.
    /// </summary>
    private void RetryIfChanged(FailedFile failed)
    {
        if (LookOf(VersionOfFile()) == failed.Look || !_gate.TryEnter())
        {
            // Unchanged, or another caller is reading it now: the failure stands until a read succeeds.
            return;
        }

        try
        {
            if (ReferenceEquals(Volatile.Read(ref _failed), failed))
            {
                Reload();
            }
        }
        catch (Exception ex) when (ex is Errors.StatePersistenceException or IOException or UnauthorizedAccessException)
        {
            // Recorded by Reload as the failure that now stands, and thrown to this caller by GetKeyRing.
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void ReloadIfChanged()
    {
        // While another thread reloads (a reload that lacks a key scans the state directory), this one goes on with
        // the ring in memory: it holds every key the reload could keep.
        if (!_gate.TryEnter())
        {
            return;
        }

        try
        {
            if (_time.GetElapsedTime(_checkedAt) < RecheckInterval)
            {
                return;
            }

            if (VersionOfFile() != _version)
            {
                // A file that became unreadable or invalid throws here: saves fail loudly instead of carrying on with
                // a ring the operator has replaced.
                Reload();
                return;
            }

            Volatile.Write(ref _checkedAt, _time.GetTimestamp());
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>
    /// <paramref name="fromFile"/> plus every key of the ring in memory that it lacks and that payloads may be sealed
    /// with (see the class summary), retired: the file's active key, if any, seals from now on.
    /// </summary>
    private EncryptionKeyRing WithKeysStillNeeded(EncryptionKeyRing fromFile)
    {
        EncryptionKeyRing current = _ring;
        List<EncryptionKey> kept = [];
        EncryptionKeyUsage? usage = null;
        foreach (EncryptionKey key in current.Keys)
        {
            // A revoked key opens nothing: dropping it loses nothing.
            if (fromFile.Find(key.Id) is not null || key.State == EncryptionKeyState.Revoked)
            {
                continue;
            }

            if (key.State == EncryptionKeyState.Active || _kept.Contains(key.Id) || MaySealPayloads(key.Id, ref usage))
            {
                kept.Add(key.State == EncryptionKeyState.Active ? key.WithState(EncryptionKeyState.Retired) : key);
            }
        }

        Volatile.Write(ref _kept, [.. kept.Select(static k => k.Id)]);
        return kept.Count == 0 ? fromFile : new EncryptionKeyRing([.. fromFile.Keys, .. kept]);
    }

    /// <summary>
    /// Whether the state directory holds payloads sealed with the retired key <paramref name="keyId"/>, scanned at most
    /// once per reload; true when it cannot be scanned: keeping a key costs nothing, losing one costs what it sealed.
    /// Without a state directory (a store of rows) there is nothing to scan here, and a retired key is let go as the
    /// file says: its store counts what each key seals (<c>MeasureKeyUsageAsync</c>) before an operator removes it.
    /// </summary>
    private bool MaySealPayloads(string keyId, ref EncryptionKeyUsage? usage)
    {
        if (_stateDirectory is null)
        {
            return false;
        }

        try
        {
            usage ??= EncryptionKeyUsage.Measure(_stateDirectory);
        }
        catch (Exception ex) when (ex is Errors.StatePersistenceException or IOException or UnauthorizedAccessException)
        {
            return true;
        }

        return usage.For(keyId).Payloads > 0;
    }

    /// <summary>
    /// What tells a change of the key file: its final target when <see cref="Path"/> is a symbolic link (every
    /// <c>statectl keys</c> change writes the target, see <see cref="EncryptionKeyFile"/>; the link's own time and
    /// length never change, and before 2026-12-07 a key file behind a link was never read again), that file's identity
    /// (each atomic write renames a new file into place, so a change that keeps the length within one timestamp tick,
    /// "retired" to "revoked", is still told), its modification time and its length.
    /// </summary>
    private KeyFileVersion VersionOfFile()
    {
        FileInfo target;
        try
        {
            target = File.ResolveLinkTarget(Path, returnFinalTarget: true) as FileInfo ?? new FileInfo(Path);
        }
        catch (IOException)
        {
            // A link that loops: the read that follows names the problem.
            return KeyFileVersion.Missing;
        }

        if (!target.Exists)
        {
            return KeyFileVersion.Missing;
        }

        FileIdentity? identity = null;
        try
        {
            identity = OperatingSystem.IsLinux() ? PosixNative.IdentityOf(target.FullName) : null;
        }
        catch (IOException)
        {
            // Not to be looked at (a directory made unsearchable): told by time and length alone; a read names the problem.
        }

        return new KeyFileVersion(target.FullName, identity?.Device, identity?.Inode, target.LastWriteTimeUtc, target.Length);
    }

    /// <summary>
    /// <paramref name="version"/> with what a read refuses beside the content (the mode looser than 0600, an owner the
    /// process may not read as), which a <c>chmod</c> or <c>chown</c> putting it right changes without touching the
    /// content: a failure stands on all of it.
    /// </summary>
    private static FileLook LookOf(KeyFileVersion version)
    {
        if (OperatingSystem.IsWindows() || version.Target is not { } target)
        {
            return new FileLook(version, null, null);
        }

        try
        {
            return new FileLook(version, File.GetUnixFileMode(target), OperatingSystem.IsLinux() ? PosixNative.OwnerOf(target) : null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone or not to be looked at since: told apart from the look at the failure by the missing mode.
            return new FileLook(version, null, null);
        }
    }

    /// <summary>What a failure of the key file stands on: <see cref="KeyFileVersion"/>, its mode and owner.</summary>
    private readonly record struct FileLook(KeyFileVersion Version, UnixFileMode? Mode, FileOwner? Owner);

    /// <summary>A read of the file that failed (<paramref name="Error"/>), with the file as it looked before that read.</summary>
    private sealed record FailedFile(FileLook Look, Exception Error)
    {
        /// <summary>
        /// The failure for one more caller: a new exception each time (one instance thrown on many threads at once would
        /// have its stack trace rewritten under each), with the message, path and transience of the read's own.
        /// </summary>
        public Exception Refusal() => Error switch
        {
            Errors.StatePersistenceException own => new Errors.StatePersistenceException(own.Message, own.Path, own.IsTransient, own),
            IOException io => new IOException(io.Message, io),
            _ => new UnauthorizedAccessException(Error.Message, Error),
        };
    }

    /// <summary>The key file as <see cref="VersionOfFile"/> sees it; the link count is left out, as a second name changes nothing read.</summary>
    private readonly record struct KeyFileVersion(string? Target, ulong? Device, ulong? Inode, DateTime WrittenAt, long Length)
    {
        public static KeyFileVersion Missing { get; } = new(null, null, null, DateTime.MinValue, -1);
    }
}
