using Npgsql;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// A streamed log read (<c>GET /api/sessions/{id}/log</c>) writes to a client at the client's pace. It must not keep a
/// connection of the pool while it waits for the client: a few slow readers of long logs would otherwise take the
/// pool every read of the instance (the change feed's included) waits on. Before 2026-12-07 the copy kept its query
/// open, and its connection, for the whole answer: with a pool of one, any other read waited until the client had
/// read everything, or failed when the pool's wait ran out.
/// </summary>
public sealed class SessionLogSlowReaderConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACopyWaitingForItsClient_HoldsNoConnection_SoOtherReadsGoOn()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var onePool = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { MaxPoolSize = 1, Timeout = 3 };
        await using var store = new PostgresStateStore(onePool.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n", "three\n");
        await using ISessionLogReader reader = (await store.OpenSessionLogAsync("s1", Ct))!;

        var client = new StalledClient();
        Task copy = reader.CopyToAsync(client, 0, reader.Length, Ct).AsTask();
        await client.Writing.Task.WaitAsync(Ct);
        try
        {
            // Another read while the client has not taken the first bytes yet.
            Assert.Equal(await store.SessionLogSizeAsync("s1", Ct), await store.SessionLogSizeAsync("s1", Ct));
        }
        finally
        {
            client.Go.TrySetResult();
        }

        await copy;
        Assert.Equal("one\ntwo\nthree\n", System.Text.Encoding.UTF8.GetString(client.ToArray()));
    }

    /// <summary>A client that takes nothing until told to: its first write waits.</summary>
    private sealed class StalledClient : MemoryStream
    {
        public TaskCompletionSource Writing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Go { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writing.TrySetResult();
            await Go.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            await base.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }
}
