using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using StatePersistence.Benchmarks.Cases.Postgres;

namespace StatePersistence.Benchmarks.Tests;

/// <summary>
/// The WAL figure of the PostgreSQL cases, against the real PostgreSQL the README's test command starts
/// (<c>STATEPERSISTENCE_POSTGRES</c>): what a round writes, divided by the saves counted in it.
/// </summary>
public partial class WalPerSaveTests
{
    [Fact]
    public async Task WalPerSave_DividesTheRoundsLog_ByTheSavesCountedInIt()
    {
        string connectionString = Environment.GetEnvironmentVariable("STATEPERSISTENCE_POSTGRES") is { Length: > 0 } given ? given
            : throw new InvalidOperationException("STATEPERSISTENCE_POSTGRES is not set: run the README's test command (scripts/test.sh), which starts PostgreSQL and sets it.");
        CancellationToken cancellationToken = TestContext.Current.CancellationToken;
        await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
        string table = "wal_per_save_" + Guid.NewGuid().ToString("N")[..12];
        await using (NpgsqlCommand create = dataSource.CreateCommand($"CREATE TABLE {table} (id int PRIMARY KEY, body text NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var wal = new WalPerSave(dataSource);
            Assert.Equal("WAL per save not measured: no saves in the rounds", wal.Describe());

            // Each save: one autocommitted insert of a row of 2,000 bytes that do not compress (so its whole row is
            // logged), its primary key's entry and its commit record.
            string body = string.Concat(Enumerable.Range(0, 250).Select(i => ((i * 7919) % 100_000_000).ToString("D8", CultureInfo.InvariantCulture)));
            wal.RoundStarting();
            for (int i = 0; i < 20; i++)
            {
                await using NpgsqlCommand insert = dataSource.CreateCommand($"INSERT INTO {table} VALUES ($1, $2)");
                insert.Parameters.AddWithValue(i);
                insert.Parameters.AddWithValue(body);
                await insert.ExecuteNonQueryAsync(cancellationToken);
                wal.Saved();
            }

            wal.RoundEnded();
            string measured = wal.Describe();

            // Saves counted outside a round do not dilute the figure.
            for (int i = 0; i < 1000; i++)
            {
                wal.Saved();
            }

            Assert.Equal(measured, wal.Describe());
            Match figures = Figures().Match(measured);
            Assert.True(figures.Success, measured);
            long bytes = long.Parse(figures.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            double records = double.Parse(figures.Groups[2].Value, CultureInfo.InvariantCulture);
            double indexEntries = double.Parse(figures.Groups[3].Value, CultureInfo.InvariantCulture);
            // Other tests may write to the same server meanwhile, so only the floor is exact: the row, its primary
            // key's entry and the commit.
            Assert.True(bytes >= 2000, measured);
            Assert.True(records >= 3, measured);
            Assert.True(indexEntries >= 1, measured);
        }
        finally
        {
            await using NpgsqlCommand drop = dataSource.CreateCommand($"DROP TABLE {table}");
            await drop.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    [GeneratedRegex(@"^WAL per save: ([\d,]+) B, ([\d.]+) records \(([\d.]+) of them index entries\), [\d,]+ B of full-page images$")]
    private static partial Regex Figures();
}
