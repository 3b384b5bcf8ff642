using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// What a migration step changes the directory with, and what it tells: every write is atomic and durable (temp file,
/// fsync, rename; the directories are fsynced once the step is done), a corrupt file is moved aside rather than
/// deleted, and every change goes in the migration log. A step also records what the runner must find after the
/// version update (the session logs and reports it wrote), which is how the result is validated.
/// </summary>
internal sealed class MigrationContext(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, Quarantine quarantine)
{
    private readonly HashSet<string> _changedDirectories = new(StringComparer.Ordinal);

    public IFileSystem FileSystem => fileSystem;

    public StateLayout Layout => layout;

    public PayloadEnvelope Envelope => envelope;

    /// <summary>The lines of the migration log so far.</summary>
    public List<string> Log { get; } = [];

    /// <summary>Corrupt files the steps moved aside.</summary>
    public List<QuarantinedFile> Quarantined { get; } = [];

    /// <summary>
    /// What each session log written must read back as (its text's length and SHA-256), by session id: a digest, not
    /// the text, so a log of gigabytes is not held in memory until the validation.
    /// </summary>
    public Dictionary<string, LogDigest> ExpectedLogs { get; } = new(StringComparer.Ordinal);

    /// <summary>The JSON each report written must read back as, by report id.</summary>
    public Dictionary<string, byte[]> ExpectedReports { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Set by the Node import: recovery reads the directory as the original implementation left it, whose snapshots
    /// (<c>state.json</c>, or its newest valid backup when it is missing or corrupt) hold what no file holds.
    /// </summary>
    public bool ReadsOriginalFormat { get; set; }

    /// <summary>A path relative to the state directory, with '/', for the log.</summary>
    public string Relative(string path) => Path.GetRelativePath(layout.Root, path).Replace('\\', '/');

    /// <summary>Replaces (or creates) a file atomically.</summary>
    public void Write(string path, ReadOnlySpan<byte> content)
    {
        AtomicFile.Write(fileSystem, layout, path, content, Durability.Full, syncDirectory: false);
        _changedDirectories.Add(Path.GetDirectoryName(path)!);
    }

    /// <summary>Replaces (or creates) a file atomically, its content written through a stream as it is made.</summary>
    public void Write(string path, Action<Stream> write)
    {
        AtomicFile.Write(fileSystem, layout, path, write, Durability.Full, syncDirectory: false);
        _changedDirectories.Add(Path.GetDirectoryName(path)!);
    }

    /// <summary>Renames a file (the destination must not hold anything worth keeping).</summary>
    public void Rename(string source, string destination)
    {
        fileSystem.Rename(source, destination);
        _changedDirectories.Add(Path.GetDirectoryName(source)!);
        _changedDirectories.Add(Path.GetDirectoryName(destination)!);
    }

    /// <summary>Deletes a file whose content the pre-migration backup holds.</summary>
    public void Delete(string path)
    {
        fileSystem.Delete(path);
        _changedDirectories.Add(Path.GetDirectoryName(path)!);
    }

    /// <summary>
    /// Moves a corrupt file, or one that cannot be imported (<paramref name="whatItIs"/> says which), aside: never
    /// deleted, and logged with why.
    /// </summary>
    public void MoveAside(string path, string reason, string whatItIs = "is corrupt")
    {
        QuarantinedFile moved = quarantine.MoveAside(path, reason);
        Quarantined.Add(moved);
        Log.Add($"  {Relative(path)} {whatItIs} ({reason}): moved aside to {Relative(moved.QuarantinePath)}");
    }

    /// <summary>Makes every rename, create and delete of the step durable.</summary>
    public void SyncChangedDirectories()
    {
        foreach (string directory in _changedDirectories)
        {
            fileSystem.SyncDirectory(directory);
        }

        _changedDirectories.Clear();
    }
}
