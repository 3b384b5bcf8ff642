using System.Diagnostics;
using System.Text;
using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <inheritdoc />
    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        SaveItemAsync(Sessions, session, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> CreateSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        CreateItemAsync(Sessions, session, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, CancellationToken cancellationToken = default) =>
        UpdateItemAsync(Sessions, id, update, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionInfo?> LoadSessionAsync(string id, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(LoadItem(Sessions, id));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionInfo>> LoadSessionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<SessionInfo>>(LoadItems(Sessions));

    /// <inheritdoc />
    public ValueTask<bool> DeleteSessionAsync(string id, CancellationToken cancellationToken = default) =>
        DeleteItemAsync(Sessions, id, cancellationToken);

    /// <inheritdoc />
    public async ValueTask AppendSessionLogAsync(string sessionId, string text, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        ArgumentNullException.ThrowIfNull(text);
        ThrowIfDisposed();
        long started = Stopwatch.GetTimestamp();
        try
        {
            await _store.AppendSessionLogAsync(sessionId, Encoding.UTF8.GetBytes(text), _options.Durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            OnSaveFailed("append-log", Location, ex);
            throw;
        }

        OnSaved("log", Location, Committer.Durable.Revision, Stopwatch.GetElapsedTime(started));
    }

    /// <inheritdoc />
    public async ValueTask<string?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        byte[]? bytes = await _store.ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    private static StateChange SessionChange(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        StateId.Validate(session.Id, "session");
        byte[] json = ItemCodec.Serialize(session);
        return new StateChange(ChangeKind.PutSession, session.Id, json, new StoredItem(session.Id, json, session.Status, null));
    }
}
