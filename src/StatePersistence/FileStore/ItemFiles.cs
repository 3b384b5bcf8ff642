using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// One JSON file per task (<c>tasks/</c>) or session (<c>sessions/</c>), sealed in the payload envelope (plain JSON
/// with a trailing <c>$envelope</c> under the identity codec). A checkpoint writes the items that changed
/// since the previous checkpoint and deletes the ones that went away: every temp file is written and made durable
/// first (in batches, one flush each), then all are renamed, then the directory is fsynced once.
/// <paramref name="descriptorsRanOut"/> is told each time a batch was cut short because the process had no file
/// descriptor left for its next file (see <see cref="WriteTemps"/>).
/// </summary>
internal sealed class ItemFiles(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, PayloadKind kind, string directory,
    Action<DescriptorShortage> descriptorsRanOut)
{
    public string Directory => directory;

    /// <summary>
    /// Whether the file of <paramref name="id"/> is the one the store wrote (a missing one counts: nothing to keep):
    /// sealed by this library, or in the legacy format, byte for byte the item as the snapshot holds it
    /// (<paramref name="snapshotCopy"/>). Builds before the payload envelope wrote an item's file from the same bytes
    /// their snapshot holds, so after an upgrade the file of an item such a build deleted after its last checkpoint
    /// (the deletion only in the journal: a crash) is its own, not one added by hand.
    /// </summary>
    private bool WrittenByTheStore(string id, StoredItem? snapshotCopy)
    {
        string path = PathOf(id);
        try
        {
            byte[] stored = fileSystem.ReadAllBytes(path);
            return PayloadEnvelope.IsSealedItem(kind, id, stored, path)
                || (snapshotCopy is not null && stored.AsSpan().SequenceEqual(snapshotCopy.Json));
        }
        catch (FileNotFoundException)
        {
            return true;
        }
    }

    public string PathOf(string id) => Path.Combine(directory, id + ".json");

    /// <summary>
    /// Brings the directory in line with <paramref name="current"/>, given what it held after the previous
    /// checkpoint. With <paramref name="sweep"/>, the directory is listed: temp files (left by a checkpoint a crash
    /// interrupted) are deleted, and so is the file of an id missing from <paramref name="current"/> when its deletion
    /// is recorded (<paramref name="previous"/> or <paramref name="deletionEvidence"/> holds the id). A file of an id
    /// the state never held is not deleted because a snapshot lacks it: <paramref name="keepAside"/> moves it aside.
    /// Returns the ids whose files were deleted (the tombstones the snapshot records).
    /// </summary>
    public (int Written, List<string> Deleted) Sync(ImmutableSortedDictionary<string, StoredItem> current,
        ImmutableSortedDictionary<string, StoredItem> previous, bool sweep, IReadOnlySet<string> deletionEvidence,
        Action<string, string> keepAside, Durability durability)
    {
        var changed = new List<StoredItem>();
        foreach (KeyValuePair<string, StoredItem> entry in current)
        {
            if (!previous.TryGetValue(entry.Key, out StoredItem? old) || !ReferenceEquals(old, entry.Value))
            {
                changed.Add(entry.Value);
            }
        }

        var removed = new List<string>();
        if (sweep)
        {
            foreach (string name in fileSystem.ListFiles(directory))
            {
                if (StateLayout.ItemId(name) is { } id)
                {
                    if (current.ContainsKey(id))
                    {
                        continue;
                    }

                    if ((previous.ContainsKey(id) || deletionEvidence.Contains(id)) && WrittenByTheStore(id, previous.GetValueOrDefault(id)))
                    {
                        removed.Add(id);
                    }
                    else if (previous.ContainsKey(id) || deletionEvidence.Contains(id))
                    {
                        // The item was deleted, but this file is not the one the store wrote (no envelope and not the
                        // snapshot's bytes, or an envelope that does not check out): an operator put it there, so it is
                        // evidence of nothing and never deleted.
                        keepAside(PathOf(id), $"the item '{id}' was deleted, but this file is not one the store wrote (added or edited by hand?)");
                    }
                    else
                    {
                        keepAside(PathOf(id), $"the state holds no item '{id}' and records no deletion of it");
                    }
                }
                else if (StateLayout.IsTempFile(name))
                {
                    // Left by a checkpoint a crash interrupted (never renamed into place, so never acknowledged).
                    fileSystem.Delete(Path.Combine(directory, name));
                }
            }
        }
        else
        {
            foreach (string id in previous.Keys)
            {
                if (!current.ContainsKey(id))
                {
                    removed.Add(id);
                }
            }
        }

        var temps = new Dictionary<string, string>(changed.Count, StringComparer.Ordinal);
        try
        {
            int batchSize = BatchSize;
            for (int start = 0; start < changed.Count;)
            {
                List<StoredItem> batch = changed.GetRange(start, Math.Min(batchSize, changed.Count - start));
                (int written, IOException? outOfDescriptors) = WriteTemps(batch, temps, durability);
                if (outOfDescriptors is not null)
                {
                    // Half of what could be opened: the other half stays free for the rest of the process.
                    batchSize = Math.Max(1, written / 2);
                    descriptorsRanOut(new DescriptorShortage(directory, written, batchSize, outOfDescriptors.Message));
                }

                start += written;
            }

            foreach (StoredItem item in changed)
            {
                fileSystem.Rename(temps[item.Id], PathOf(item.Id));
            }
        }
        catch (Exception ex)
        {
            // Every temp file of this checkpoint not yet renamed into place: up to the whole changed state's worth of
            // space on a disk that may be full. (Deleting the path of one already renamed is a no-op: the name is unique.)
            if (FailedWriteCleanup.RemoveTemps(fileSystem, temps.Values, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }

        foreach (string id in removed)
        {
            fileSystem.Delete(PathOf(id));
        }

        if ((changed.Count > 0 || removed.Count > 0) && durability == Durability.Full)
        {
            fileSystem.SyncDirectory(directory);
        }

        return (changed.Count, removed);
    }

    /// <summary>
    /// Writes the temp files of one batch and makes them durable together (<see cref="IFileSystem.SyncFiles"/>: one
    /// disk flush for the batch where the platform allows, instead of one per file). A batch holds a descriptor per
    /// file until it is synced, so under a low descriptor limit (<c>ulimit -n</c>: an idle server already holds about
    /// 250 for its runtime) a whole batch may not open. When an open fails with EMFILE or ENFILE, the files already
    /// open are made durable and closed as a batch of their own, and the count written is returned with the error, for
    /// the caller to go on in smaller batches; only an open that fails with none of the batch's own files to close
    /// fails the checkpoint. Returns how many of <paramref name="batch"/> were written, from its start.
    /// </summary>
    private (int Written, IOException? OutOfDescriptors) WriteTemps(List<StoredItem> batch, Dictionary<string, string> temps, Durability durability)
    {
        var handles = new List<IFileHandle>(batch.Count);
        IOException? outOfDescriptors = null;
        try
        {
            foreach (StoredItem item in batch)
            {
                string temp = layout.NextTempPath(PathOf(item.Id));
                temps[item.Id] = temp;
                IFileHandle handle;
                try
                {
                    handle = fileSystem.Open(temp, FileOpenMode.CreateOrTruncate);
                }
                catch (IOException ex) when (IsOutOfDescriptors(ex) && handles.Count > 0)
                {
                    outOfDescriptors = ex;
                    break;
                }

                handles.Add(handle);
                handle.Write(0, envelope.Seal(kind, item.Id, item.Json));
            }

            if (durability == Durability.Full)
            {
                fileSystem.SyncFiles(handles);
            }

            return (handles.Count, outOfDescriptors);
        }
        finally
        {
            foreach (IFileHandle handle in handles)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>
    /// EMFILE (24: this process's descriptor limit, RLIMIT_NOFILE) or ENFILE (23: the system's), as .NET reports them
    /// on Unix (the errno as <see cref="Exception.HResult"/>); ERROR_TOO_MANY_OPEN_FILES on Windows.
    /// </summary>
    private static bool IsOutOfDescriptors(IOException ex) => ex.HResult is 24 or 23 or unchecked((int)0x80070004);

    /// <summary>Temp files written and synced together, when descriptors allow.</summary>
    private const int BatchSize = 256;
}
