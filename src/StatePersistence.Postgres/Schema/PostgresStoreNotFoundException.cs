using StatePersistence.Errors;

namespace StatePersistence.Postgres;

/// <summary>
/// A PostgreSQL schema holds no StatePersistence store (no <c>schema_version</c> table: it does not exist, or no store
/// was ever created there), met by an operator's look or by <c>PostgresSchemaMigrations.ApplyAsync</c> without
/// <c>create</c>; nothing was created or changed. A <see cref="StateStorageException"/>, not transient; its
/// <see cref="StatePersistenceException.Path"/> is the store's location (the connection string's host, port and
/// database, never its password). The message names the server's setting; a tool that takes the schema some other
/// way (statectl's <c>--schema</c>) builds its own from <see cref="Schema"/> and <see cref="Location"/>, not from the
/// message's words.
/// </summary>
public sealed class PostgresStoreNotFoundException : StateStorageException
{
    /// <summary>The server's setting that names the schema.</summary>
    public const string SchemaSetting = "StatePersistence:Schema";

    /// <summary>Creates the exception.</summary>
    public PostgresStoreNotFoundException(string message, string schema, string location)
        : base(message, location, inner: null, isTransient: false)
    {
        Schema = schema;
        Location = location;
    }

    /// <summary>The schema that holds no store.</summary>
    public string Schema { get; }

    /// <summary>Where the schema was looked for (<c>postgresql://host:port/database</c>).</summary>
    public string Location { get; }
}
