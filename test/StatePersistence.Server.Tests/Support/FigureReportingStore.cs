using StatePersistence.Commit;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// A third store, as another assembly would write one against the public contract: the in-memory store with health
/// figures of its own choosing, to see how a host reports them.
/// </summary>
internal sealed class FigureReportingStore(IReadOnlyDictionary<string, long> figures) : IStateStore, IStateBlobStore
{
    private readonly InMemoryStateStore _inner = new();

    public string Location => _inner.Location;

    public event EventHandler<QuarantinedFile>? DamageFound
    {
        add => _inner.DamageFound += value;
        remove => _inner.DamageFound -= value;
    }

    public ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default) => _inner.OpenAsync(cancellationToken);

    public ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default) => _inner.AppendAsync(groups, durability, cancellationToken);

    public ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterRevision, CancellationToken cancellationToken = default) =>
        _inner.ReadChangesAsync(afterRevision, cancellationToken);

    public IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterRevision, CancellationToken cancellationToken = default) =>
        _inner.SubscribeAsync(afterRevision, cancellationToken);

    public StoreHealth CheckHealth() => _inner.CheckHealth() with { Details = figures };

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    public ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default) => _inner.AppendSessionLogAsync(sessionId, utf8Text, durability, cancellationToken);

    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _inner.ReadSessionLogAsync(sessionId, cancellationToken);

    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _inner.OpenSessionLogAsync(sessionId, cancellationToken);

    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _inner.SessionLogSizeAsync(sessionId, cancellationToken);

    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default) => _inner.SaveReportAsync(reportId, json, durability, cancellationToken);

    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) =>
        _inner.LoadReportAsync(reportId, cancellationToken);

    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        _inner.ListReportsAsync(cancellationToken);
}
