namespace StatePersistence.Model;

/// <summary>Versions of the on-disk format.</summary>
public static class StateFormat
{
    /// <summary>
    /// The version this library writes. 1.0.0 is the original Node implementation's format (no revision, no journal),
    /// which this version reads as is.
    /// </summary>
    public const string CurrentVersion = "2.0.0";

    /// <summary>The highest major version this library can read; a newer file is refused, never rewritten.</summary>
    public const int HighestReadableMajor = 2;
}
