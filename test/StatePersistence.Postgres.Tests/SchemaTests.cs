using Npgsql;
using StatePersistence.Errors;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests;

public sealed class SchemaTests
{
    [Fact]
    public async Task InstancesStartingAtOnce_CreateTheSchemaExactlyOnce()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();

        // Eight instances, each with its own connection pool, start together on an empty database.
        NpgsqlDataSource[] instances = [.. Enumerable.Range(0, 8).Select(_ => PostgresServer.NewDataSource())];
        try
        {
            int[] found = await Task.WhenAll(instances.Select(i => Task.Run(() => PostgresSchema.EnsureAsync(i, schema.Name, ct), ct)));

            Assert.Equal(1, found.Count(v => v == 0));
            Assert.All(found.Where(v => v != 0), v => Assert.Equal(PostgresSchema.CurrentVersion, v));
            Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync<long>($"SELECT count(*) FROM {schema.Name}.schema_version", ct));
        }
        finally
        {
            foreach (NpgsqlDataSource instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task NewerSchemaVersion_IsRefusedNamingBothVersions_AndLeftUntouched()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, ct);
        int newer = PostgresSchema.CurrentVersion + 1;
        await ScalarAsync<int>($"INSERT INTO {schema.Name}.schema_version (version, description) VALUES ({newer}, 'from the future') RETURNING version", ct);

        var error = await Assert.ThrowsAsync<StateFormatException>(() => PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, ct));

        Assert.Contains($"version {newer}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"up to {PostgresSchema.CurrentVersion}", error.Message, StringComparison.Ordinal);
        Assert.Contains(schema.Name, error.Message, StringComparison.Ordinal);
        Assert.Equal(newer, await ScalarAsync<int>($"SELECT max(version) FROM {schema.Name}.schema_version", ct));
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("x; DROP TABLE y")]
    [InlineData("1starts_with_digit")]
    [InlineData("")]
    public async Task UnsafeSchemaName_IsRefusedNamingIt(string name)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => PostgresSchema.EnsureAsync(PostgresServer.DataSource, name, TestContext.Current.CancellationToken));
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }

    private static async Task<T> ScalarAsync<T>(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }
}
