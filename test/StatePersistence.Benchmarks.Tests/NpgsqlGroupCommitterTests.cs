using Npgsql;
using StatePersistence.Benchmarks.Cases.Postgres;

namespace StatePersistence.Benchmarks.Tests;

/// <summary>
/// The grouped floor's committer, against the real PostgreSQL the README's test command starts
/// (<c>STATEPERSISTENCE_POSTGRES</c>): concurrent saves share statements, every save is stored, and a failed
/// statement fails every save of its batch instead of leaving a follower waiting.
/// </summary>
public sealed class NpgsqlGroupCommitterTests : IAsyncLifetime
{
    private readonly string _schema = "grouped_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource? _dataSource;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private NpgsqlDataSource DataSource => _dataSource!;

    public async ValueTask InitializeAsync()
    {
        string connectionString = Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES") is { Length: > 0 } given ? given
            : throw new InvalidOperationException("STATEPERSISTENCE_POSTGRES is not set: run the README's test command (scripts/test.sh), which starts PostgreSQL and sets it.");
        _dataSource = NpgsqlDataSource.Create(connectionString);
        await using (NpgsqlCommand create = DataSource.CreateCommand($"CREATE SCHEMA {_schema}"))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }

        await FloorTables.CreateAsync(DataSource, _schema, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await using (NpgsqlCommand drop = DataSource.CreateCommand($"DROP SCHEMA {_schema} CASCADE"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await DataSource.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentSaves_ShareStatements_AndAreAllStored()
    {
        var committer = new NpgsqlGroupCommitter(DataSource, _schema);

        // 16 writers, 20 saves each, over 8 ids: two writers save each id, so a batch may hold an id twice.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                await committer.SaveAsync($"task_{w % 8}", $$"""{"writer":{{w}},"save":{{i}}}""");
            }
        }, Ct)));

        Assert.Equal(320, committer.Saves);
        Assert.InRange(committer.Batches, 1, 319);
        await using NpgsqlCommand read = DataSource.CreateCommand($"""
            SELECT (SELECT count(*) FROM {_schema}.changes), (SELECT count(*) FROM {_schema}.items),
                   (SELECT count(*) FROM {_schema}.items i WHERE i.revision = (SELECT max(c.revision) FROM {_schema}.changes c WHERE c.id = i.id))
            """);
        await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        // Every save is a change row; each item holds its newest change.
        Assert.Equal((320L, 8L, 8L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    [Fact]
    public async Task AFailedStatement_FailsEverySaveOfItsBatch_AndTheNextBatchStillCommits()
    {
        var committer = new NpgsqlGroupCommitter(DataSource, _schema);
        Task[] saves = [.. Enumerable.Range(0, 8).Select(i => committer.SaveAsync($"task_{i}", i == 3 ? "{not json" : "{}"))];

        // Whichever batches the eight fell into, the one holding the bad document failed as a whole.
        Exception failure = await Assert.ThrowsAnyAsync<PostgresException>(() => saves[3]);
        Assert.Contains("json", failure.Message, StringComparison.OrdinalIgnoreCase);
        await Task.WhenAll(saves.Select(s => s.ContinueWith(_ => { }, Ct, TaskContinuationOptions.None, TaskScheduler.Default)));
        Assert.All(saves.Where(s => s.IsFaulted), s => Assert.IsType<PostgresException>(s.Exception!.InnerException));
        long stored = saves.Count(s => s.IsCompletedSuccessfully);
        Assert.Equal(stored, committer.Saves);

        await committer.SaveAsync("task_after", "{}");
        Assert.Equal(stored + 1, committer.Saves);
    }
}
