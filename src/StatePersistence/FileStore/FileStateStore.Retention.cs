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
        ValueTask.FromResult<IReadOnlyList<string>>(ListSessionLogs()); // every live log: its size is the cap's first read anyway

    private List<string> ListSessionLogs()
    {
        var ids = new List<string>();
        foreach (string name in Io(() => _fileSystem.ListFiles(_layout.LogsDirectory), _layout.LogsDirectory, "Listing session logs"))
        {
            if (StateLayout.TryParseSessionLogName(name, out string id, out int part) && part == 0 && StateId.IsValid(id))
            {
                ids.Add(id);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
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
