using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// The background re-encryption's side of task archives: an archive whose entries are under another key than the
/// active one (or in the clear while a key is active, or sealed while encryption is being turned off) is read and
/// checked whole (the manifest's lengths and SHA-256s), every entry opened and sealed again for the target, and the new
/// archive written beside it, fsynced, read back, renamed over the old one and the directory fsynced: a crash at any
/// point leaves the archive whole under its old key or its new one. A damaged archive is left exactly as it is and
/// reported once; it counts as remaining, so the run does not report itself finished over it. So is one whose entries
/// cannot be opened for lack of the right key or codec (a key revoked since), listed for health by the store
/// (<see cref="FileStateStore.LeftUnreadable"/>) and tried again at each step, as the key may come back; before
/// 2026-12-07 its refusal ended the whole step.
/// </summary>
internal sealed class TaskArchiveResealer(FileStateStore store, IFileSystem fileSystem, StateLayout layout)
{
    /// <summary>Archives found whole and already as the target wants them, by name: their length and the target then.</summary>
    private readonly Dictionary<string, (long Length, string? Target)> _current = new(StringComparer.Ordinal);

    /// <summary>Archives found damaged (already reported), by name: their length then; a changed file is checked again.</summary>
    private readonly Dictionary<string, long> _damaged = new(StringComparer.Ordinal);

    /// <summary>Archives whose entries could not be opened for lack of the right key or codec, by path, listed for health by the store.</summary>
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);

    /// <summary>
    /// Brings up to <paramref name="budget"/> archives under <paramref name="target"/> (the active key; null: the
    /// clear). Archives already checked for the same target are not read again while their length stays.
    /// </summary>
    public ArchiveResealing Step(string? target, int budget, CancellationToken cancellationToken)
    {
        string directory = TaskArchives.DirectoryOf(store.Location);
        var result = new ArchiveResealing();
        foreach (string name in fileSystem.ListFiles(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (StateLayout.IsTempFile(name) || !name.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal))
            {
                continue;
            }

            string path = Path.Combine(directory, name);
            using Lock.Scope scope = store.ArchiveWrites.EnterScope();
            long length;
            try
            {
                length = fileSystem.LengthOf(path);
            }
            catch (FileNotFoundException)
            {
                continue; // moved away by the operator meanwhile: nothing to re-encrypt
            }

            if (_damaged.TryGetValue(name, out long damagedLength) && damagedLength == length)
            {
                result.Left++;
                continue;
            }

            if (_current.TryGetValue(name, out (long Length, string? Target) known) && known.Length == length && known.Target == target)
            {
                continue;
            }

            try
            {
                if (!Needs(path, target, out TaskArchiveManifest manifest, out Dictionary<string, byte[]> entries))
                {
                    _current[name] = (length, target);
                    Opened(path);
                }
                else if (result.Rewritten < budget)
                {
                    _current[name] = (Reseal(path, directory, manifest, entries, target), target);
                    result.Rewritten++;
                    Opened(path);
                }
                else
                {
                    result.Left++;
                }
            }
            catch (InvalidDataException ex)
            {
                _damaged[name] = length;
                result.Left++;
                result.Damaged.Add((path, ex.Message));
            }
            catch (Errors.StateFormatException ex)
            {
                // No damage: left as it is and tried again at the next step, when the key may be back.
                _unreadable.Add(path);
                store.LeftUnreadable(ex, path);
                result.Left++;
            }
        }

        // An archive moved away by the operator is off the health list.
        foreach (string path in _unreadable.Where(path => !fileSystem.FileExists(path)).ToArray())
        {
            Opened(path);
        }

        return result;
    }

    /// <summary>An archive left unopened before opened now (or went): off the store's health list.</summary>
    private void Opened(string path)
    {
        if (_unreadable.Remove(path))
        {
            store.OpenedOrGone(path);
        }
    }

    /// <summary>Reads and checks the archive whole; whether any entry is not stored as <paramref name="target"/> wants it.</summary>
    private bool Needs(string path, string? target, out TaskArchiveManifest manifest, out Dictionary<string, byte[]> entries)
    {
        (manifest, entries) = TaskArchiveFile.Read(fileSystem.ReadAllBytes(path), path);
        if (target is null)
        {
            return manifest.Sealed;
        }

        // Sealed entries are told by their envelope header; an unsealed archive (written in the clear) is sealed whole.
        return !manifest.Sealed || entries.Values.Any(entry => EncryptionKeyUsage.StandaloneNeedsResealing(entry, target));
    }

    /// <summary>Writes the archive again with every entry for <paramref name="target"/>; returns the new file's length.</summary>
    private long Reseal(string path, string directory, TaskArchiveManifest manifest, Dictionary<string, byte[]> entries, string? target)
    {
        // Opened first, all of them: an entry whose tag fails is damage, and nothing is written.
        bool seal = target is not null;
        var written = new List<(string Name, byte[] Content)>(manifest.Entries.Count);
        foreach (ArchiveEntry entry in manifest.Entries)
        {
            Serialization.PayloadKind kind = TaskArchiveManifest.KindOf(entry.Name);
            byte[] plain = manifest.Sealed ? store.OpenArchiveEntry(kind, entry.Name, entries[entry.Name], path + "!" + entry.Name) : entries[entry.Name];
            written.Add((entry.Name, seal ? store.SealArchiveEntry(kind, entry.Name, plain) : plain));
        }

        TaskArchiveManifest resealed = manifest with { Sealed = seal };
        string temp = layout.NextTempPath(path);
        try
        {
            long bytes = AtomicFile.WriteTemp(fileSystem, temp, stream => TaskArchiveFile.Write(stream, resealed, written), Durability.Full);
            CheckReadsBack(temp, written);
            fileSystem.Rename(temp, path);
            fileSystem.SyncDirectory(directory);
            return bytes;
        }
        catch (Exception ex)
        {
            if (FailedWriteCleanup.RemoveTemp(fileSystem, temp, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }
    }

    /// <summary>The new archive, read back from the disk, holds every entry byte for byte before it replaces the old one.</summary>
    private void CheckReadsBack(string temp, List<(string Name, byte[] Content)> written)
    {
        if (TaskArchiveFile.ReadBackMismatch(fileSystem, temp, written) is { } mismatch)
        {
            throw new Errors.StateStorageException($"The re-encrypted archive '{temp}' did not read back as written ({mismatch.Problem}); the archive was left as it was.",
                temp, mismatch.Cause, isTransient: true);
        }
    }
}

/// <summary>What one step did to the task archives.</summary>
internal sealed class ArchiveResealing
{
    /// <summary>Archives rewritten for the target.</summary>
    public int Rewritten { get; set; }

    /// <summary>Archives still not as the target wants them (over the budget, or damaged).</summary>
    public int Left { get; set; }

    /// <summary>Archives found damaged by this step (each reported once): the path and what is wrong.</summary>
    public List<(string Path, string Problem)> Damaged { get; } = [];
}
