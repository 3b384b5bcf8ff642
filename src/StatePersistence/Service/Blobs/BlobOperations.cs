using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Redaction;
using StatePersistence.Serialization;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Blobs;

/// <summary>
/// Session logs and reports, through the store's <see cref="IStateBlobStore"/>; validated, timed and reported here. A
/// session log append is redacted before it reaches the store; a report is stored as given (see the README's
/// "Secret redaction").
/// </summary>
internal sealed class BlobOperations(IStateBlobStore blobs, string location, Durability durability, CommitPipeline commits, EventDispatcher events,
    SecretRedactor redactor)
{
    /// <summary>The session deletions running: an append to a session being deleted waits for its deletion to end.</summary>
    public SessionDeletionGate Deletions { get; } = new();

    /// <summary>
    /// Holds back appends to the session's log in every instance sharing the store (<see cref="IStateBlobStore.HoldSessionLogAppendsAsync"/>),
    /// for a deletion of the log that must not take along an append made meanwhile. A failure is one of the log's deletion.
    /// </summary>
    public async ValueTask<IAsyncDisposable> HoldAppendsAsync(string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            return await blobs.HoldSessionLogAppendsAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
        {
            events.SaveFailed("delete-log", location, ex);
            throw;
        }
    }

    public async ValueTask AppendSessionLogAsync(string sessionId, string text, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        ArgumentNullException.ThrowIfNull(text);
        commits.ThrowIfDisposed();

        // Before the store is asked: not every store looks at the token before it writes.
        cancellationToken.ThrowIfCancellationRequested();

        // A deletion of the session that has begun deletes its log last: this append, to a session that may be created
        // anew meanwhile, comes after that, or the deletion would take it along.
        await Deletions.WaitForDeletionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        long started = Stopwatch.GetTimestamp();
        try
        {
            string redacted = redactor.Redact(text, "log");
            await blobs.AppendSessionLogAsync(sessionId, Encoding.UTF8.GetBytes(redacted), durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
        {
            events.SaveFailed("append-log", location, ex);
            throw;
        }

        events.Saved("log", location, commits.Durable.Revision, Stopwatch.GetElapsedTime(started), sessionId);
    }

    /// <summary>
    /// Deletes a session's whole log through the store, raising <c>session:log-deleted</c> when <paramref name="announce"/>
    /// (a log deleted on its own; a session's deletion is announced by its <c>session:deleted</c>). A store that cannot
    /// (<see cref="NotSupportedException"/>) is the caller's to handle: that is no failure of a write, so it is not
    /// reported as one.
    /// </summary>
    public async ValueTask DeleteSessionLogAsync(string sessionId, bool announce, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        commits.ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await blobs.DeleteSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken) && ex is not NotSupportedException)
        {
            events.SaveFailed("delete-log", location, ex);
            throw;
        }

        events.SessionLogDeleted(sessionId, announce);
    }

    public async ValueTask<string?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        commits.ThrowIfDisposed();
        byte[]? bytes = await blobs.ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        commits.ThrowIfDisposed();
        return blobs.OpenSessionLogAsync(sessionId, cancellationToken);
    }

    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        commits.ThrowIfDisposed();
        return blobs.SessionLogSizeAsync(sessionId, cancellationToken);
    }

    public ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        commits.ThrowIfDisposed();
        return blobs.SessionLogExistsAsync(sessionId, cancellationToken);
    }

    public async ValueTask<string> SaveReportAsync(string reportId, JsonElement report, CancellationToken cancellationToken)
    {
        StateId.Validate(reportId, "report");
        if (report.ValueKind == JsonValueKind.Undefined)
        {
            throw new StateValidationException("report", "the report has no JSON value");
        }

        commits.ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(report, StateJsonContext.Default.JsonElement);
        long started = Stopwatch.GetTimestamp();
        string path;
        try
        {
            path = await blobs.SaveReportAsync(reportId, json, durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CallerCancellation.IsFailure(ex, cancellationToken))
        {
            events.SaveFailed("save-report", location, ex);
            throw;
        }

        events.Saved("report", path, commits.Durable.Revision, Stopwatch.GetElapsedTime(started), reportId);
        return path;
    }

    public async ValueTask<JsonElement?> LoadReportAsync(string reportId, CancellationToken cancellationToken)
    {
        StateId.Validate(reportId, "report");
        commits.ThrowIfDisposed();
        byte[]? json = await blobs.LoadReportAsync(reportId, cancellationToken).ConfigureAwait(false);
        return json is null ? null : JsonSerializer.Deserialize(json, StateJsonContext.Default.JsonElement);
    }

    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken)
    {
        commits.ThrowIfDisposed();
        return blobs.ListReportsAsync(cancellationToken);
    }

    public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        commits.ThrowIfDisposed();
        return blobs.ListReportsAsync(after, limit, cancellationToken);
    }

    public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken)
    {
        commits.ThrowIfDisposed();
        return blobs.CountReportsAsync(cancellationToken);
    }
}
