namespace StatePersistence.Errors;

/// <summary>
/// The state directory holds <c>import-in-progress.json</c>: an import into it (<c>statectl import</c>,
/// <c>StateArchive.Import</c>) stopped before it finished, so its files are part of an archive, not a state. Opening
/// it would serve that part as if it were the whole. Nothing was changed; run the same import again (it resumes), or
/// empty the directory.
/// </summary>
public sealed class StateImportIncompleteException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateImportIncompleteException(string directory, string marker, string? archive)
        : base(Describe(directory, marker, archive), directory, isTransient: false)
    {
        Marker = marker;
        Archive = archive;
    }

    /// <summary>What is wrong and what to do, as the exception's message says it (for a report that does not throw).</summary>
    internal static string Describe(string directory, string marker, string? archive) =>
        $"An import into the state directory '{directory}' did not finish ('{marker}' is still there): its files are only part of "
        + $"{(archive is null ? "an archive" : $"the archive '{archive}'")}. Nothing was changed. Run "
        + $"'statectl import {archive ?? "FILE.tar.gz"} --state-path {directory}' again (it resumes), or empty the directory.";

    /// <summary>The marker file, as an absolute path.</summary>
    public string Marker { get; }

    /// <summary>The archive the unfinished import was restoring, when the marker could be read.</summary>
    public string? Archive { get; }
}
