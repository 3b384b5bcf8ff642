using Npgsql;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>Session log rows for the log tests: appended through a store, or damaged in place.</summary>
internal static class SessionLogRows
{
    /// <summary>Appends each of <paramref name="texts"/> to <paramref name="sessionId"/>'s log, one row each, durably.</summary>
    public static async Task AppendAsync(PostgresStateStore store, string sessionId, params string[] texts)
    {
        foreach (string text in texts)
        {
            await store.AppendSessionLogAsync(sessionId, System.Text.Encoding.UTF8.GetBytes(text), Durability.Full, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Flips a bit in the last byte of the <paramref name="nth"/> append's payload (its checksum no longer holds).</summary>
    public static async Task DamageAsync(TestSchema schema, int nth)
    {
        await using NpgsqlCommand damage = PostgresServer.DataSource.CreateCommand($"""
            UPDATE {schema.Name}.session_logs SET payload = set_byte(payload, length(payload) - 1, get_byte(payload, length(payload) - 1) # 1)
            WHERE segment = (SELECT segment FROM {schema.Name}.session_logs ORDER BY segment OFFSET {nth - 1} LIMIT 1)
            """);
        Assert.Equal(1, await damage.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
    }
}
