using StatePersistence.Cli.Infrastructure;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>
/// statectl's refusal of a PostgreSQL schema holding no store names what statectl takes (<c>--schema</c>,
/// <c>StatePersistence__Schema</c>) whatever words the library's message uses: it is built from the refusal's data.
/// Before 2026-12-08 statectl replaced a phrase of the library's message, and a change of that wording would have
/// left the server's setting, which statectl does not read, in its output without a test noticing.
/// </summary>
public sealed class StoreNotFoundMessageTests
{
    [Theory]
    [InlineData("The PostgreSQL schema 's1' at postgresql://db:5432/app holds no StatePersistence store (no s1.schema_version table): check the schema name (StatePersistence:Schema, default 'statepersistence') and the database. Nothing was changed.")]
    [InlineData("No store in schema s1 (set StatePersistence:Schema).")]
    public void TheMessage_NamesStatectlsOwnSettings_WhateverTheLibrarySays(string libraryMessage)
    {
        string message = StoreChoice.NoStore(new PostgresStoreNotFoundException(libraryMessage, "s1", "postgresql://db:5432/app"));

        Assert.Equal("The PostgreSQL schema 's1' at postgresql://db:5432/app holds no StatePersistence store (no s1.schema_version table): "
            + "check the schema name (--schema or StatePersistence__Schema, default 'statepersistence') and the database; "
            + "to create a store there, run 'statectl migrate apply --store postgres --create'. Nothing was changed.", message);
    }
}
