namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="StateArchive.Export(string, string, StatePersistence.Serialization.IPayloadCodec?, TimeProvider?)"/> wrote or <see cref="StateArchive.Import(string, string, StatePersistence.Serialization.IPayloadCodec?)"/> restored.</summary>
/// <param name="Archive">The <c>.tar.gz</c> file, as an absolute path.</param>
/// <param name="StateDirectory">The state directory read or restored into.</param>
/// <param name="Revision">The state's revision in the archive.</param>
/// <param name="Tasks">Tasks in the archive.</param>
/// <param name="Sessions">Sessions in the archive.</param>
/// <param name="Logs">Session logs in the archive.</param>
/// <param name="Reports">Reports in the archive.</param>
/// <param name="Bytes">The archive's size.</param>
/// <param name="Problems">
/// What the read of the state directory found wrong (an export of a directory whose <c>state.json</c> is unusable holds
/// the state rebuilt as start-up recovery rebuilds it, and says so here); empty for a healthy directory.
/// </param>
public sealed record StateArchiveResult(string Archive, string StateDirectory, long Revision, int Tasks, int Sessions, int Logs, int Reports, long Bytes,
    IReadOnlyList<StateDirectoryProblem> Problems);
