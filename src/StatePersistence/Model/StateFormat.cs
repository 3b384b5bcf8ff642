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

    /// <summary>
    /// How every timestamp of the JSON model is written (a <see cref="DateTime"/> custom format of its UTC time):
    /// ISO-8601 with a <c>Z</c> suffix and fractions of a second only when present, <c>2024-01-01T10:00:00Z</c>, the
    /// seed's format. For a host that serializes the model with its own JSON context, so that what it serves reads
    /// exactly like the stored files.
    /// </summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";
}
