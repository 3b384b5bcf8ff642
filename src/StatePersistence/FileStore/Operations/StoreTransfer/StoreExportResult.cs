namespace StatePersistence.FileStore.Operations;

/// <summary>What <see cref="StateArchive.ExportFromAsync"/> wrote.</summary>
/// <param name="Archive">The <c>.tar.gz</c> file, as an absolute path.</param>
/// <param name="Store">The store exported (its <see cref="Storage.IStateStore.Location"/>).</param>
/// <param name="StoreRevision">The store's revision its items were read at.</param>
/// <param name="Revision">The archive's revision: the export numbers its copy itself, as an import into a store does.</param>
/// <param name="Tasks">Tasks exported.</param>
/// <param name="Sessions">Sessions exported.</param>
/// <param name="Logs">Session logs exported (each with its rotated parts, as one log).</param>
/// <param name="Reports">Reports exported.</param>
/// <param name="Bytes">The archive's size.</param>
public sealed record StoreExportResult(string Archive, string Store, long StoreRevision, long Revision, int Tasks, int Sessions, int Logs, int Reports, long Bytes);
