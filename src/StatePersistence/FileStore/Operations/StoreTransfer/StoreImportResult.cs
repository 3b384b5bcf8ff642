namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="StateArchive.ImportIntoAsync"/> put into a store.</summary>
/// <param name="Archive">The <c>.tar.gz</c> file, as an absolute path.</param>
/// <param name="Store">The store imported into (its <see cref="Storage.IStateStore.Location"/>).</param>
/// <param name="ArchiveRevision">The state's revision in the archive.</param>
/// <param name="Revision">The store's revision once the import committed: the store numbers what it writes itself.</param>
/// <param name="Tasks">Tasks in the archive.</param>
/// <param name="Sessions">Sessions in the archive.</param>
/// <param name="Logs">Session logs in the archive (with their rotated parts, each imported as one log).</param>
/// <param name="Reports">Reports in the archive.</param>
/// <param name="Written">Items, logs and reports written by this run; the rest were already in the store as the archive holds them.</param>
/// <param name="AlreadyThere">Items, logs and reports an earlier run cut short had already put there (0 for a first run).</param>
public sealed record StoreImportResult(string Archive, string Store, long ArchiveRevision, long Revision, int Tasks, int Sessions, int Logs, int Reports,
    int Written, int AlreadyThere);
