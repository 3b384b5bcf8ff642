namespace StatePersistence.FileSystem;

/// <summary>The user and group ids owning a file on Unix.</summary>
/// <param name="User">The owner's uid.</param>
/// <param name="Group">The group's gid.</param>
internal readonly record struct FileOwner(uint User, uint Group);
