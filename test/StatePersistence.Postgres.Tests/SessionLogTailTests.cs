using Npgsql;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// The next open of a session log on the same instance reads only the rows after the last one it counted (a client
/// tailing a log asks after every append; each open read every row of the log, payloads and all, before), once a count
/// of the rows up to that one shows nothing came in below it: a row whose transaction took its segment earlier and
/// committed later (the out-of-order commit) makes the open read the whole log again.
/// </summary>
public sealed class SessionLogTailTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly AesGcmCodec Codec = new(new EncryptionKeyRing([
        EncryptionKey.Generate("tail-key", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]));

    [Fact]
    public async Task TheNextOpen_ReadsOnlyTheRowsAfterTheLastCounted_AndACopyStillOpensEveryRowItReads()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, Codec);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n");
        await using (ISessionLogReader first = (await store.OpenSessionLogAsync("s1", Ct))!)
        {
            Assert.Equal(8, first.Length);
        }

        // The first row no longer opens: an open that read it would be refused (SessionLogReadDamageTests).
        await SessionLogRows.DamageAsync(schema, 1);
        await SessionLogRows.AppendAsync(store, "s1", "three\n");

        await using ISessionLogReader next = (await store.OpenSessionLogAsync("s1", Ct))!;
        Assert.Equal(14, next.Length);
        // A copy reads from the checkpoint before its range (the first row, in a log this small), and opens each row.
        StateStorageException thrown = await Assert.ThrowsAsync<StateStorageException>(() => CopyAsync(next, 8, 6));
        Assert.Contains("logs/s1/", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARowCommittedLateBelowTheLastCounted_MakesTheNextOpenReadTheWholeLog()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, Codec);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n");

        // A transaction takes its segment, then stalls while a later append commits and the log is opened.
        await using NpgsqlConnection stalled = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction transaction = await stalled.BeginTransactionAsync(Ct);
        await using (var insert = new NpgsqlCommand(
            $"INSERT INTO {schema.Name}.session_logs (session_id, payload) SELECT session_id, payload FROM {schema.Name}.session_logs WHERE session_id = 's1' ORDER BY segment LIMIT 1",
            stalled, transaction))
        {
            Assert.Equal(1, await insert.ExecuteNonQueryAsync(Ct));
        }

        await SessionLogRows.AppendAsync(store, "s1", "three\n");
        await using (ISessionLogReader before = (await store.OpenSessionLogAsync("s1", Ct))!)
        {
            Assert.Equal("one\ntwo\nthree\n", await CopyAsync(before, 0, before.Length));
        }

        await transaction.CommitAsync(Ct);

        await using ISessionLogReader after = (await store.OpenSessionLogAsync("s1", Ct))!;
        Assert.Equal("one\ntwo\none\nthree\n", await CopyAsync(after, 0, after.Length));
        Assert.Equal("one\ntwo\none\nthree\n", System.Text.Encoding.UTF8.GetString((await store.ReadSessionLogAsync("s1", Ct))!));
    }

    private static async Task<string> CopyAsync(ISessionLogReader reader, long offset, long count)
    {
        using var sent = new MemoryStream();
        await reader.CopyToAsync(sent, offset, count, Ct);
        return System.Text.Encoding.UTF8.GetString(sent.ToArray());
    }
}
