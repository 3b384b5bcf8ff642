namespace StatePersistence.Encryption;

/// <summary>
/// Keys from a key file (<see cref="EncryptionKeyFile"/>). The file is read when the provider is made (so a missing,
/// loose or invalid file stops the start) and read again when it changes, checked at most once per
/// <see cref="RecheckInterval"/>: a key rotated into the file by <c>statectl keys rotate</c> is used by a running
/// process without a restart. <see cref="Reload"/> reads it at once.
/// </summary>
public sealed class KeyFileProvider : IEncryptionKeyProvider
{
    /// <summary>How often the file is checked for a change.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(1);

    private readonly string? _stateDirectory;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private EncryptionKeyRing _ring;
    private (DateTime WrittenAt, long Length) _version;
    private long _checkedAt;

    /// <summary>
    /// Reads the key file at <paramref name="path"/>; refuses it (with <see cref="Errors.StatePersistenceException"/>)
    /// inside <paramref name="stateDirectory"/> or when looser than 0600.
    /// </summary>
    public KeyFileProvider(string path, string? stateDirectory = null, TimeProvider? timeProvider = null)
    {
        _stateDirectory = stateDirectory;
        _time = timeProvider ?? TimeProvider.System;
        Path = EncryptionKeyFile.CheckLocation(path, stateDirectory);
        _version = VersionOfFile();
        _ring = EncryptionKeyFile.Read(Path, stateDirectory);
        _checkedAt = _time.GetTimestamp();
    }

    /// <summary>The key file's full path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public EncryptionKeyRing GetKeyRing()
    {
        if (_time.GetElapsedTime(Volatile.Read(ref _checkedAt)) >= RecheckInterval)
        {
            ReloadIfChanged();
        }

        return Volatile.Read(ref _ring);
    }

    /// <summary>Reads the key file again now and returns its ring.</summary>
    public EncryptionKeyRing Reload()
    {
        lock (_gate)
        {
            (DateTime, long) version = VersionOfFile();
            Volatile.Write(ref _ring, EncryptionKeyFile.Read(Path, _stateDirectory));
            _version = version;
            Volatile.Write(ref _checkedAt, _time.GetTimestamp());
            return _ring;
        }
    }

    private void ReloadIfChanged()
    {
        lock (_gate)
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
    }

    private (DateTime, long) VersionOfFile()
    {
        var info = new FileInfo(Path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }
}
