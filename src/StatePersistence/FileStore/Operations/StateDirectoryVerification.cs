using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// What <see cref="StateDirectoryVerifier.Verify(string, IPayloadCodec?)"/> found: every problem (file, id, what is wrong), the files it read
/// per kind, and the files already moved aside as corrupt (kept for inspection; not problems in themselves).
/// </summary>
public sealed record StateDirectoryVerification(string StateDirectory, long? Revision, IReadOnlyDictionary<string, int> FilesChecked,
    IReadOnlyList<StateDirectoryProblem> Problems, IReadOnlyList<string> Quarantined)
{
    /// <summary>Whether nothing is wrong.</summary>
    public bool Ok => Problems.Count == 0;

    /// <summary>
    /// The problems of <see cref="Problems"/> that are only files an unfinished import has not written yet (the task and
    /// session files its <c>state.json</c> names): running the same import again writes them. Thousands for a large
    /// archive, so <c>statectl verify</c> counts them rather than list each; empty unless <c>import-in-progress.json</c> is there.
    /// </summary>
    public IReadOnlyList<StateDirectoryProblem> NotYetImported { get; init; } = [];
}
