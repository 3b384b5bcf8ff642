using System.CommandLine;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// The store a command reads, for those that read a PostgreSQL store too (<c>keys list</c>, <c>keys retire --remove</c> and <c>--revoke</c>,
/// <c>tasks list</c>, <c>tasks show</c>, <c>tasks edit</c>, <c>health</c>, <c>verify</c>, <c>du</c>, <c>import</c>, <c>export</c>, <c>migrate status|apply</c>): the state directory (the default), or a PostgreSQL store, chosen as the
/// server chooses it: <c>--store postgres</c> or
/// <c>StatePersistence__Store=postgres</c>; the connection string from <c>--connection-string</c>, else
/// <c>StatePersistence__ConnectionString</c>, else <c>STATEPERSISTENCE_CONNECTION_STRING</c> (best for a password: the
/// command line shows in <c>ps</c>); the schema from <c>--schema</c>, else <c>StatePersistence__Schema</c>, else the
/// store's default. The connection string is never shown.
/// </summary>
internal sealed record StoreChoice(string? ConnectionString, string Schema)
{
    public const string StoreVariable = "StatePersistence__Store";
    public const string ConnectionStringVariable = "STATEPERSISTENCE_CONNECTION_STRING";
    public const string ConnectionStringSettingVariable = "StatePersistence__ConnectionString";
    public const string SchemaVariable = "StatePersistence__Schema";

    // An empty value is bad usage, not the default: --schema "$SCHEMA" with the variable unset read (or archived, edited,
    // imported into, upgraded) the default schema, and an empty --connection-string fell back to the environment's.
    public static readonly Option<string?> StoreOption = new Option<string?>("--store")
    {
        Description = $"The store to read: 'file' (the state directory, the default) or 'postgres' (default: ${StoreVariable}).",
        HelpName = "file|postgres",
        Recursive = true,
    }.NotEmpty("'file' or 'postgres'");

    public static readonly Option<string?> ConnectionStringOption = new Option<string?>("--connection-string")
    {
        Description = $"With --store postgres: the Npgsql connection string (default: ${ConnectionStringSettingVariable}, then ${ConnectionStringVariable}; prefer a variable for a password).",
        HelpName = "STRING",
        Recursive = true,
    }.NotEmpty("the Npgsql connection string");

    public static readonly Option<string?> SchemaOption = new Option<string?>("--schema")
    {
        Description = $"With --store postgres: the store's schema (default: ${SchemaVariable}, then '{PostgresStateStore.DefaultSchema}').",
        HelpName = "NAME",
        Recursive = true,
    }.NotEmpty("the store's schema");

    /// <summary>Adds <c>--store</c>, <c>--connection-string</c> and <c>--schema</c> to <paramref name="command"/>.</summary>
    public static void AddOptionsTo(Command command)
    {
        command.Options.Add(StoreOption);
        command.Options.Add(ConnectionStringOption);
        command.Options.Add(SchemaOption);
    }

    /// <summary>Whether this is a PostgreSQL store (else the state directory).</summary>
    public bool IsPostgres => ConnectionString is not null;

    /// <summary>The choice the command line and the environment make; bad usage (exit 2) when it is incomplete or unknown.</summary>
    public static StoreChoice From(ParseResult parsed)
    {
        string? named = parsed.GetValue(StoreOption) is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable(StoreVariable);
        string store = string.IsNullOrWhiteSpace(named) ? "file" : named.Trim().ToLowerInvariant();
        string schema = parsed.GetValue(SchemaOption) is { Length: > 0 } s ? s
            : Environment.GetEnvironmentVariable(SchemaVariable) is { Length: > 0 } variable ? variable
            : PostgresStateStore.DefaultSchema;
        string? connectionString = parsed.GetValue(ConnectionStringOption) is { Length: > 0 } c ? c
            : Environment.GetEnvironmentVariable(ConnectionStringSettingVariable) is { Length: > 0 } setting ? setting
            : Environment.GetEnvironmentVariable(ConnectionStringVariable);
        switch (store)
        {
            case "file" when parsed.GetValue(ConnectionStringOption) is not null || parsed.GetValue(SchemaOption) is not null:
                throw new CommandFailedException("--connection-string and --schema go with --store postgres.", ExitCodes.Usage);
            case "file":
                return new StoreChoice(null, schema);
            case "postgres" when string.IsNullOrWhiteSpace(connectionString):
                throw new CommandFailedException(
                    $"--store postgres needs a connection string: pass --connection-string, or (best for a password) set {ConnectionStringVariable}.", ExitCodes.Usage);
            case "postgres":
                try
                {
                    PostgresStateStore.ValidateSchema(schema);
                }
                catch (ArgumentException ex)
                {
                    throw new CommandFailedException(ex.Message, ExitCodes.Usage);
                }

                return new StoreChoice(connectionString, schema);
            default:
                throw new CommandFailedException($"--store is '{named}', which is not a store: use 'file' (the default) or 'postgres'.", ExitCodes.Usage);
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on the PostgreSQL store (given the connection string and the schema); a connection
    /// string that does not parse is bad usage (exit 2), and is not shown; sealed rows met without a key are refused
    /// saying how to give one; a schema holding no store is refused in statectl's words (<see cref="NoStore"/>).
    /// </summary>
    public async Task<T> ReadAsync<T>(Func<string, string, Task<T>> read)
    {
        try
        {
            return await read(ConnectionString!, Schema).ConfigureAwait(false);
        }
        catch (StateFormatException ex) when (ex.ReaderLacksCodec)
        {
            throw new CommandFailedException(
                $"The PostgreSQL store holds sealed rows ('{ex.Path}' is sealed with the codec '{ex.WrittenWithCodec}') and no key was given: "
                + $"pass --key-file FILE or set {EncryptionOptions.KeyFileVariable} (the key file the instances run with). Nothing was changed.");
        }
        catch (PostgresStoreNotFoundException ex)
        {
            throw new CommandFailedException(NoStore(ex), ExitCodes.Failed, ex);
        }
        catch (ArgumentException ex) when (ex.ParamName == "connectionString")
        {
            // "The PostgreSQL connection string cannot be parsed; ...", or names the port out of range (never the string,
            // which may hold a password): where it was given is added.
            throw new CommandFailedException(
                ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal).Replace("The PostgreSQL connection string",
                    $"The PostgreSQL connection string (--connection-string, {ConnectionStringSettingVariable} or {ConnectionStringVariable})", StringComparison.Ordinal),
                ExitCodes.Usage);
        }
    }

    /// <summary>
    /// A schema holding no store, said from the refusal's data: the library's message names the server's setting
    /// (<see cref="PostgresStoreNotFoundException.SchemaSetting"/>), which statectl does not read, and its words are the
    /// library's to change.
    /// </summary>
    public static string NoStore(PostgresStoreNotFoundException ex) =>
        $"The PostgreSQL schema '{ex.Schema}' at {ex.Location} holds no StatePersistence store (no {ex.Schema}.schema_version table): "
        + $"check the schema name ({SchemaOption.Name} or {SchemaVariable}, default '{PostgresStateStore.DefaultSchema}') and the database; "
        + "to create a store there, run 'statectl migrate apply --store postgres --create'. Nothing was changed.";
}
