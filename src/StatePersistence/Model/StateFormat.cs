namespace StatePersistence.Model;

/// <summary>Versions of the on-disk format.</summary>
public static class StateFormat
{
    /// <summary>
    /// The version this library writes. 1.0.0 is the original Node implementation's format (no revision, no journal),
    /// which this version reads as is. 2.1.0 adds a checksum of the content and the ids deleted by the checkpoint
    /// that wrote the file; 2.0.0 files, without them, are still read.
    /// </summary>
    public const string CurrentVersion = "2.1.0";

    /// <summary>The highest major version this library can read; a newer file is refused, never rewritten.</summary>
    public const int HighestReadableMajor = 2;
}
