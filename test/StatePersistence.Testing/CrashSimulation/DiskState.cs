namespace StatePersistence.Testing.CrashSimulation;

/// <summary>
/// A namespace (directories, and file names pointing at inodes) plus the inodes' bytes. The simulator keeps two:
/// the volatile view the program sees and the durable image a crash would leave; crash states are built as copies.
/// </summary>
internal sealed class DiskState
{
    public HashSet<string> Directories { get; } = new(StringComparer.Ordinal) { SimulatedPath.Root };

    public Dictionary<string, int> Files { get; } = new(StringComparer.Ordinal);

    public Dictionary<int, FileData> Data { get; } = [];

    /// <summary>An inode's bytes; an inode that never had durable data is empty, which is how a file survives as empty.</summary>
    public FileData DataOf(int inode)
    {
        if (!Data.TryGetValue(inode, out FileData? data))
        {
            data = new FileData();
            Data[inode] = data;
        }

        return data;
    }

    public DiskState Clone()
    {
        var copy = new DiskState();
        copy.Directories.UnionWith(Directories);
        foreach ((string path, int inode) in Files)
        {
            copy.Files[path] = inode;
        }

        foreach ((int inode, FileData data) in Data)
        {
            copy.Data[inode] = data.Clone();
        }

        return copy;
    }

    /// <summary>
    /// The state as a reboot would find it: a name whose parent directory did not survive is unreachable, so it is
    /// left out (its entry may be durable while the mkdir of its parent was not).
    /// </summary>
    public DurableImage ToImage(string description)
    {
        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string directory in Directories)
        {
            if (IsReachable(directory))
            {
                directories.Add(directory);
            }
        }

        var files = new SortedDictionary<string, DurableImage.FileEntry>(StringComparer.Ordinal);
        foreach ((string path, int inode) in Files)
        {
            if (directories.Contains(SimulatedPath.Parent(path)!))
            {
                files[path] = new DurableImage.FileEntry(inode, DataOf(inode).Contents.ToArray());
            }
        }

        return new DurableImage(directories, files, description);
    }

    public static DiskState FromImage(DurableImage image, out int nextInode)
    {
        var state = new DiskState();
        state.Directories.UnionWith(image.Directories);
        var inodes = new Dictionary<int, int>();
        nextInode = 1;
        foreach ((string path, DurableImage.FileEntry entry) in image.Entries)
        {
            // Names that shared an inode (a half-persisted cross-directory rename) still share one after the reboot.
            if (!inodes.TryGetValue(entry.Inode, out int inode))
            {
                inode = nextInode++;
                inodes[entry.Inode] = inode;
                state.Data[inode] = new FileData(entry.Contents);
            }

            state.Files[path] = inode;
        }

        return state;
    }

    private bool IsReachable(string directory)
    {
        for (string? current = directory; current is not null; current = SimulatedPath.Parent(current))
        {
            if (!Directories.Contains(current))
            {
                return false;
            }
        }

        return true;
    }
}
