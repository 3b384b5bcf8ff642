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
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StateChange change = SessionChange(session);
        await CommitAsync("session", session.Id, static (_, c) => [c], change, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> CreateSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StateChange change = SessionChange(session);
        return CommitAsync("session", session.Id, static (view, c) => view.Sessions.ContainsKey(c.Id) ? null : [c], change, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "session");
        ArgumentNullException.ThrowIfNull(update);
        SessionInfo? saved = null;
        bool committed = await CommitAsync("session", id, (view, _) =>
        {
            if (!view.Sessions.TryGetValue(id, out StoredItem? current))
            {
                return null;
            }

            SessionInfo session = ItemCodec.DeserializeSession(current.Json);
            update(session);
            session.Id = id;
            saved = session;
            return [SessionChange(session)];
        }, 0, cancellationToken).ConfigureAwait(false);
        return committed ? saved : null;
    }

    /// <inheritdoc />
    public ValueTask<SessionInfo?> LoadSessionAsync(string id, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "session");
        return ValueTask.FromResult(Committer.Durable.Sessions.TryGetValue(id, out StoredItem? item) ? ItemCodec.DeserializeSession(item.Json) : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionInfo>> LoadSessionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<SessionInfo>>(Sorted(Committer.Durable.Sessions.Values).Select(i => ItemCodec.DeserializeSession(i.Json)).ToList());

    /// <inheritdoc />
    public async ValueTask<bool> DeleteSessionAsync(string id, CancellationToken cancellationToken = default)
    {
        StateId.Validate(id, "session");
        var change = new StateChange(ChangeKind.DeleteSession, id, null);
        return await CommitAsync("session", id, static (view, c) => view.Sessions.ContainsKey(c.Id) ? [c] : null, change, cancellationToken).ConfigureAwait(false);
    }

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
