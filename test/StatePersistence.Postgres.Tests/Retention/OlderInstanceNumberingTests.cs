using Npgsql;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// An instance of a build from before the bounded change log, still running in a rolling upgrade, numbers the feed
/// without knowing the horizon: after the highest position in the table. The pruner therefore never deletes the newest
/// group, so that position never falls below the horizon and the older instance's numbering continues after it: its
/// changes reach this version's readers. (When the pruner emptied the table, such an instance numbered from 1 again,
/// and every other instance, reading after the horizon, never saw those changes.)
/// </summary>
public sealed class OlderInstanceNumberingTests
{
    /// <summary>The numbering statement of those builds (2d86a31), as it ran in their reader's own transaction.</summary>
    private const string EarlierNumbering = """
        BEGIN;
        SELECT pg_advisory_xact_lock(hashtextextended('statepersistence.feed:{0}', 0));
        UPDATE {0}.changes c SET position = last.position + u.n
        FROM (SELECT revision, row_number() OVER (ORDER BY revision) AS n
              FROM (SELECT DISTINCT revision FROM {0}.changes WHERE position IS NULL) d) u,
             (SELECT coalesce(max(position), 0) AS position FROM {0}.changes) last
        WHERE c.revision = u.revision;
        COMMIT;
        """;

    [Fact]
    public async Task AfterPruningEverythingOld_AnEarlierBuildsNumberingContinuesAfterTheHorizon_AndReadersGetIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        for (int i = 0; i < 3; i++)
        {
            await store.PutAsync("t" + i, ExpectedRevision.Absent);
        }

        Assert.Equal(3, (await store.Feed.ReadAsync(0, 100, ct)).Count);
        await new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1)).PruneAsync(TimeSpan.Zero, ct);
        long horizon = await ScalarAsync($"SELECT position FROM {store.Schema}.feed_horizon", ct);
        Assert.True(horizon > 0, "the pruner deleted nothing");

        // The earlier build's writer commits without a position; its reader numbers the change.
        await store.PutAsync("older", ExpectedRevision.Absent);
        await ExecuteAsync($"UPDATE {store.Schema}.changes SET position = NULL, numbered_at = NULL WHERE id = 'older'", ct);
        await ExecuteAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, EarlierNumbering, store.Schema), ct);

        Assert.True(await ScalarAsync($"SELECT position FROM {store.Schema}.changes WHERE id = 'older'", ct) > horizon,
            "the earlier build numbered its change at or below the horizon");
        Assert.Contains("older", (await store.Feed.ReadAllAsync(horizon, ct)).SelectMany(g => g.Changes).Select(c => c.Id));
    }

    private static async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }
}
