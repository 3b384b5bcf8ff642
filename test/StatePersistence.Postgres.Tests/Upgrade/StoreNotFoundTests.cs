using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>
/// A schema holding no store is refused with <see cref="PostgresStoreNotFoundException"/>, carrying the schema and the
/// store's location, so that a tool which takes the schema its own way (statectl's <c>--schema</c>) says so from the
/// data; the message, naming the server's setting, is as before. Before 2026-12-08 it was a bare
/// <see cref="StateStorageException"/>, and statectl rewrote the message's words, which a change of wording here broke
/// silently.
/// </summary>
public sealed class StoreNotFoundTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ApplyWithoutCreate_OnASchemaWithoutAStore_ThrowsStoreNotFound_NamingTheSchemaAndWhere()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();

        var ex = await Assert.ThrowsAsync<PostgresStoreNotFoundException>(() =>
            PostgresSchemaMigrations.ApplyAsync(PostgresServer.ConnectionString, empty.Name, create: false, Ct));

        AssertNamesTheSchema(ex, empty.Name);
    }

    [Fact]
    public async Task AReadOnlyLook_AtASchemaWithoutAStore_ThrowsStoreNotFound_NamingTheSchemaAndWhere()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();

        var ex = await Assert.ThrowsAsync<PostgresStoreNotFoundException>(() =>
            PostgresDiskUsage.MeasureAsync(PostgresServer.ConnectionString, empty.Name, Ct));

        AssertNamesTheSchema(ex, empty.Name);
    }

    private static void AssertNamesTheSchema(PostgresStoreNotFoundException ex, string schema)
    {
        Assert.Equal(schema, ex.Schema);
        Assert.StartsWith("postgresql://", ex.Location, StringComparison.Ordinal);
        Assert.Equal(ex.Location, ex.Path);
        Assert.False(ex.IsTransient);
        Assert.IsAssignableFrom<StateStorageException>(ex);
        Assert.Equal("StatePersistence:Schema", PostgresStoreNotFoundException.SchemaSetting);
        // The library's and the server's words, unchanged.
        Assert.Contains($"The PostgreSQL schema '{schema}' at {ex.Location} holds no StatePersistence store", ex.Message, StringComparison.Ordinal);
        Assert.Contains("check the schema name (StatePersistence:Schema, default 'statepersistence')", ex.Message, StringComparison.Ordinal);
    }
}
