using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Recovery;
using StatePersistence.Retention;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>The retention policy's file operations: session log caps and report expiry.</summary>
public sealed partial class FileStateStore : IRetentionStore
{
    /// <inheritdoc />
    ValueTask<IReadOnlyList<string>> IRetentionStore.ListSessionLogsAsync(long largerThan, CancellationToken cancellationToken) =>
        // Every live log: its size is the cap's first read anyway.
        ValueTask.FromResult<IReadOnlyList<string>>([.. SessionLogFiles().Where(f => f.Part == 0).Select(f => f.Id).Order(StringComparer.Ordinal)]);

    /// <summary>The session log files of <c>logs/</c> by session and part (0 the live log): not temp, quarantined or foreign files.</summary>
    private IEnumerable<(string Id, int Part)> SessionLogFiles()
    {
        foreach (string name in Io(() => _fileSystem.DirectoryExists(_layout.LogsDirectory) ? _fileSystem.ListFiles(_layout.LogsDirectory) : [],
            _layout.LogsDirectory, "Listing session logs"))
        {
            if (StateLayout.TryParseSessionLogName(name, out string id, out int part) && StateId.IsValid(id))
            {
                yield return (id, part);
            }
        }
    }

    /// <inheritdoc />
    async ValueTask<SessionLogTrim?> IRetentionStore.CapSessionLogAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability,
        CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        _guard.ThrowIfMoved();
        string path = _layout.SessionLogFile(sessionId);
        try
        {
            return await _logs.CapAsync(sessionId, maxBytes, rotatedParts, durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"Capping the session log '{path}' failed: {ex.Message}", path, ex, ex is IOException);
        }
    }

    /// <inheritdoc />
    ValueTask<long?> IRetentionStore.ExpireReportAsync(string reportId, Func<byte[], bool> isExpired, Durability durability, CancellationToken cancellationToken)
    {
        StateId.Validate(reportId, "report");
        _guard.ThrowIfMoved();
        string path = _layout.ReportFile(reportId);
        using (_reportWrites.EnterScope())
        {
            byte[]? stored = Io(() => _fileSystem.FileExists(path) ? _fileSystem.ReadAllBytes(path) : null, path, "Reading the report to expire");
            if (stored is null)
            {
                return ValueTask.FromResult<long?>(null);
            }

            byte[] json;
            try
            {
                json = _envelope.Open(PayloadKind.Report, reportId, stored, path);
            }
            catch (InvalidDataException ex)
            {
                // Evidence, not garbage: moved aside like a corrupt report found by a read, never deleted.
                QuarantinedFile moved = Io(() => QuarantineReport(reportId, path, ex.Message), path, "Quarantining the corrupt report");
                RaiseQuarantined(moved);
                throw new StateStorageException($"The report '{path}' is corrupt ({ex.Message}); it was moved to '{moved.QuarantinePath}' instead of expiring.",
                    path, ex, isTransient: false);
            }

            if (!isExpired(json))
            {
                return ValueTask.FromResult<long?>(null);
            }

            Io(() => _reportIndex.Write(reportId, stored: false, () =>
            {
                _fileSystem.Delete(path);
                if (durability == Durability.Full)
                {
                    _fileSystem.SyncDirectory(_layout.ReportsDirectory);
                }

                return path;
            }), path, "Deleting the expired report");
            return ValueTask.FromResult<long?>(stored.Length);
        }
    }
}
