using StatePersistence.FileStore;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A session log's gate (which orders appends, reads, rotations and repairs of one log) exists only while it is held or
/// waited for. Before, a gate was kept for every session id the process was ever asked about, so a client reading the
/// log of one made-up id after another (<c>GET /api/sessions/{id}/log</c>, a 404 each) grew the server's memory for as
/// long as it ran.
/// </summary>
public sealed class SessionLogGateTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(FileStateStore Store, StatePersistenceService Service)> OpenAsync()
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return (store, service);
    }

    [Fact]
    public async Task ReadsOfLogsThatDoNotExist_LeaveNoGateBehind()
    {
        (FileStateStore store, StatePersistenceService opened) = await OpenAsync();
        await using StatePersistenceService service = opened;

        for (int i = 0; i < 1_000; i++)
        {
            Assert.Null(await service.OpenSessionLogAsync($"missing-{i}", Ct));
            Assert.Null(await service.ReadSessionLogAsync($"missing-{i}", Ct));
        }

        Assert.Equal(0, store.SessionLogGatesInUse);
    }

    [Fact]
    public async Task AppendsAndReadsOfManyLogs_LeaveNoGateBehind_AndEveryLogKeepsItsText()
    {
        (FileStateStore store, StatePersistenceService opened) = await OpenAsync();
        await using StatePersistenceService service = opened;

        // Several writers per log at once: the gate must still order them while they overlap.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
            {
                await service.AppendSessionLogAsync($"s{i % 5}", $"w{writer}-{i}\n", Ct);
            }
        }, Ct)));

        Assert.Equal(0, store.SessionLogGatesInUse);
        for (int s = 0; s < 5; s++)
        {
            string text = (await service.ReadSessionLogAsync($"s{s}", Ct))!;
            string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(40, lines.Length);
            Assert.Equal(40, lines.Distinct(StringComparer.Ordinal).Count());
        }

        Assert.Equal(0, store.SessionLogGatesInUse);
    }

    [Fact]
    public async Task AGate_ExcludesASecondHolderOfItsKey_NotOtherKeys_AndGoesWithItsLastUser()
    {
        var gates = new KeyedGates();
        KeyedGates.Lease first = gates.Take("a");
        await first.WaitAsync(Ct);

        KeyedGates.Lease other = gates.Take("b");
        await other.WaitAsync(Ct);
        other.Release();

        KeyedGates.Lease second = gates.Take("a");
        ValueTask waiting = second.WaitAsync(Ct);
        Assert.False(waiting.IsCompleted, "a second holder of the same key waits");
        Assert.Equal(1, gates.Count);

        first.Release();
        await waiting;
        Assert.Equal(1, gates.Count);
        second.Release();
        Assert.Equal(0, gates.Count);
    }

    [Fact]
    public async Task AWaitCancelled_GivesItsUseBack()
    {
        var gates = new KeyedGates();
        KeyedGates.Lease holder = gates.Take("a");
        await holder.WaitAsync(Ct);

        using var cancel = new CancellationTokenSource();
        KeyedGates.Lease waiter = gates.Take("a");
        ValueTask waiting = waiter.WaitAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);

        holder.Release();
        Assert.Equal(0, gates.Count);

        // The key can be taken again at once: nothing still holds the old gate.
        KeyedGates.Lease again = gates.Take("a");
        await again.WaitAsync(Ct);
        again.Release();
        Assert.Equal(0, gates.Count);
    }
}
