namespace StatePersistence.FileSystem;

/// <summary>
/// Which file or directory a path or an open handle refers to: the device and inode number on Unix. Two identities
/// are equal only for the same file, so a directory deleted and created again under the same name gets another.
/// </summary>
/// <param name="Device">The device the file lives on.</param>
/// <param name="Inode">The inode number on that device.</param>
/// <param name="Links">How many names the file has; 0 once it was deleted while open.</param>
internal readonly record struct FileIdentity(ulong Device, ulong Inode, uint Links)
{
    /// <summary>Whether both refer to the same file (link counts aside).</summary>
    public bool IsSameFile(FileIdentity other) => Device == other.Device && Inode == other.Inode;
}
