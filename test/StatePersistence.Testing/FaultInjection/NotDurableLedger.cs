using StatePersistence.FileSystem;

namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// The regions of real files whose sync failed under <see cref="FailedSyncModel.KeepReadableNotDurable"/>: readable,
/// not durable. Each region keeps the bytes it replaced, which a power cut restores. A later change of a region made
/// durable by a successful sync removes that part; renames and deletes carry the regions along or drop them.
/// </summary>
internal sealed class NotDurableLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<ChangedRegion>> _regions = new(StringComparer.Ordinal);

    public void AddFailed(string path, IEnumerable<ChangedRegion> regions)
    {
        lock (_gate)
        {
            if (!_regions.TryGetValue(path, out List<ChangedRegion>? list))
            {
                _regions[path] = list = [];
            }

            list.AddRange(regions);
        }
    }

    /// <summary>The changes a successful sync made durable: what they covered is no longer lost at a power cut.</summary>
    public void MadeDurable(string path, IReadOnlyList<ChangedRegion> changes)
    {
        lock (_gate)
        {
            if (!_regions.TryGetValue(path, out List<ChangedRegion>? list))
            {
                return;
            }

            foreach (ChangedRegion change in changes)
            {
                list = [.. list.SelectMany(r => r.Without(change.Offset, change.End))];
            }

            _regions[path] = list;
        }
    }

    public void Renamed(string source, string destination)
    {
        lock (_gate)
        {
            if (_regions.Remove(source, out List<ChangedRegion>? list))
            {
                _regions[destination] = list;
            }
        }
    }

    /// <summary>A second name shares the first's regions, as both name one file.</summary>
    public void Linked(string source, string destination)
    {
        lock (_gate)
        {
            if (_regions.TryGetValue(source, out List<ChangedRegion>? list))
            {
                _regions[destination] = list;
            }
        }
    }

    public void Deleted(string path)
    {
        lock (_gate)
        {
            _regions.Remove(path);
        }
    }

    /// <summary>Restores what every failed region replaced, newest first; returns how many regions were lost.</summary>
    public int LoseAll(IFileSystem inner)
    {
        lock (_gate)
        {
            int lost = 0;
            foreach ((string path, List<ChangedRegion> list) in _regions)
            {
                if (!inner.FileExists(path) || list.Count == 0)
                {
                    continue;
                }

                using IFileHandle handle = inner.Open(path, FileOpenMode.OpenOrCreate);
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    list[i].Restore(handle);
                    lost++;
                }
            }

            _regions.Clear();
            return lost;
        }
    }
}

/// <summary>A change of <c>[Offset, End)</c> of a file, with the bytes that were there (none past the old length).</summary>
internal sealed record ChangedRegion(long Offset, long End, byte[] OldBytes, long OldLength)
{
    /// <summary>This region less <c>[from, to)</c>: zero, one or two regions.</summary>
    public IEnumerable<ChangedRegion> Without(long from, long to)
    {
        if (to <= Offset || from >= End)
        {
            yield return this;
            yield break;
        }

        if (from > Offset)
        {
            yield return Slice(Offset, from);
        }

        if (to < End)
        {
            yield return Slice(to, End);
        }
    }

    /// <summary>Puts the old bytes back; what lay past the old length is cut off at the end of the file, else zeroed.</summary>
    public void Restore(IFileHandle handle)
    {
        handle.Write(Offset, OldBytes);
        long pastOld = Offset + OldBytes.Length;
        if (pastOld >= End)
        {
            return;
        }

        if (End >= handle.Length)
        {
            handle.SetLength(Math.Max(pastOld, Math.Min(OldLength, handle.Length)));
        }
        else
        {
            handle.Write(pastOld, new byte[End - pastOld]);
        }
    }

    private ChangedRegion Slice(long from, long to)
    {
        int start = (int)Math.Min(from - Offset, OldBytes.Length);
        int end = (int)Math.Min(to - Offset, OldBytes.Length);
        return new ChangedRegion(from, to, OldBytes[start..end], OldLength);
    }
}
