namespace StatePersistence.Testing.CrashSimulation;

/// <summary>Directories and names: the operations that become durable at <see cref="SyncDirectory"/>.</summary>
internal sealed partial class CrashSimulatingFileSystem
{
    /// <inheritdoc />
    public void CreateDirectory(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.CreateDirectory, target);
            var missing = new Stack<string>();
            for (string? directory = target; directory is not null && !_volatile.Directories.Contains(directory); directory = SimulatedPath.Parent(directory))
            {
                if (_volatile.Files.ContainsKey(directory))
                {
                    throw new IOException($"The file '{directory}' already exists.", Errno.Exists);
                }

                missing.Push(directory);
            }

            while (missing.TryPop(out string? directory))
            {
                _volatile.Directories.Add(directory);
                AddEntryOp(number, directory, EntryChangeKind.MakeDirectory, 0, false, $"#{number} mkdir {directory}");
            }
        }
    }

    /// <inheritdoc />
    public bool DirectoryExists(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            ThrowIfCrashed();
            return _volatile.Directories.Contains(target);
        }
    }

    /// <inheritdoc />
    public bool FileExists(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            ThrowIfCrashed();
            return _volatile.Files.ContainsKey(target);
        }
    }

    /// <inheritdoc />
    public void Rename(string sourcePath, string destinationPath)
    {
        string source = SimulatedPath.Normalize(sourcePath);
        string destination = SimulatedPath.Normalize(destinationPath);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.Rename, source, destination);
            RequireParent(source);
            if (!_volatile.Files.TryGetValue(source, out int inode))
            {
                throw new FileNotFoundException($"Could not find file '{source}'.", source);
            }

            RequireParent(destination);
            if (_volatile.Directories.Contains(destination))
            {
                throw new IOException($"Cannot rename '{source}' over the directory '{destination}'.", Errno.IsDirectory);
            }

            if (source == destination)
            {
                return;
            }

            bool replaces = _volatile.Files.ContainsKey(destination);
            _volatile.Files[destination] = inode;
            _volatile.Files.Remove(source);
            string description = $"#{number} rename {source} -> {destination}";
            AddEntryOp(number, destination, EntryChangeKind.LinkFile, inode, replaces, description);
            AddEntryOp(number, source, EntryChangeKind.Unlink, inode, false, description);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The new name points at the same inode (names sharing one keep sharing it after a crash), and it is a pending
    /// entry of its directory like a create: lost or kept on its own until that directory is synced. It implies
    /// nothing about the file's data.
    /// </remarks>
    public void Link(string existingPath, string newPath)
    {
        string source = SimulatedPath.Normalize(existingPath);
        string destination = SimulatedPath.Normalize(newPath);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.Link, source, destination);
            RequireParent(source);
            if (!_volatile.Files.TryGetValue(source, out int inode))
            {
                throw new FileNotFoundException($"Could not find file '{source}'.", source);
            }

            RequireParent(destination);
            if (_volatile.Files.ContainsKey(destination) || _volatile.Directories.Contains(destination))
            {
                throw new IOException($"Cannot link '{source}' to '{destination}': it exists.", Errno.Exists);
            }

            _volatile.Files[destination] = inode;
            AddEntryOp(number, destination, EntryChangeKind.LinkFile, inode, false, $"#{number} link {source} -> {destination}");
        }
    }

    /// <inheritdoc />
    public void Delete(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            int number = Begin(SimulatedOperationKind.Delete, target);
            RequireParent(target);
            if (_volatile.Directories.Contains(target))
            {
                throw new UnauthorizedAccessException($"Access to the path '{target}' is denied.");
            }

            if (_volatile.Files.Remove(target, out int inode))
            {
                AddEntryOp(number, target, EntryChangeKind.Unlink, inode, false, $"#{number} delete {target}");
            }
        }
    }

    /// <inheritdoc />
    public void SyncDirectory(string path)
    {
        string target = SimulatedPath.Normalize(path);
        lock (_gate)
        {
            Begin(SimulatedOperationKind.SyncDirectory, target);
            if (!_volatile.Directories.Contains(target))
            {
                throw new DirectoryNotFoundException($"Cannot open directory '{target}' to sync it: No such file or directory (errno 2).");
            }

            foreach (EntryOp op in _pendingEntries.Where(op => op.Directory == target))
            {
                op.ApplyTo(_durable);
                if (op.ReplacesExisting)
                {
                    // Ext4Ordered needs to know the renamed file's earlier data is durable too (auto_da_alloc).
                    _durableReplaceRenames[op.Inode] = Math.Max(op.Sequence, _durableReplaceRenames.GetValueOrDefault(op.Inode));
                }
            }

            _pendingEntries.RemoveAll(op => op.Directory == target);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ListFiles(string directory)
    {
        string target = SimulatedPath.Normalize(directory);
        lock (_gate)
        {
            ThrowIfCrashed();

            // Sorted so a run is reproducible; a real directory's order is arbitrary, so callers must not rely on any.
            return [.. _volatile.Files.Keys.Where(p => SimulatedPath.Parent(p) == target).Select(SimulatedPath.Name).Order(StringComparer.Ordinal)];
        }
    }

    /// <inheritdoc />
    public long GetAvailableFreeSpace(string path)
    {
        lock (_gate)
        {
            ThrowIfCrashed();
            return AvailableFreeSpace;
        }
    }
}
