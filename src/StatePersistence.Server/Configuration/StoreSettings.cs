using StatePersistence.Postgres;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Which store the server keeps its state in: the file store (the default, at <c>StatePersistence:StatePath</c>) or
/// PostgreSQL (<c>--store postgres --connection-string ...</c>, or <c>StatePersistence:Store</c> and
/// <c>StatePersistence:ConnectionString</c>, the connection string also from <c>STATEPERSISTENCE_CONNECTION_STRING</c>,
/// the schema from <c>StatePersistence:Schema</c>, how long the change log keeps a change from
/// <c>StatePersistence:Postgres:ChangeRetention</c>). The connection string is never shown in a message or a log: it
/// may hold a password.
/// </summary>
internal sealed record StoreSettings(string Store, string? ConnectionString, string Schema, TimeSpan? ChangeRetention = null)
{
    public const string StoreKey = "StatePersistence:Store";
    public const string ConnectionStringKey = "StatePersistence:ConnectionString";
    public const string SchemaKey = "StatePersistence:Schema";
    public const string ChangeRetentionKey = "StatePersistence:Postgres:ChangeRetention";
    public const string ConnectionStringVariable = "STATEPERSISTENCE_CONNECTION_STRING";
    public const string File = "file";
    public const string Postgres = "postgres";

    /// <summary>The file store, the default.</summary>
    public static StoreSettings Default { get; } = new(File, null, PostgresStateStore.DefaultSchema);

    /// <summary>Reads the choice from <paramref name="configuration"/>, adding what is wrong with it to <paramref name="problems"/>.</summary>
    public static StoreSettings Read(IConfiguration configuration, List<string> problems)
    {
        string store = (configuration[StoreKey] is { Length: > 0 } named ? named.Trim() : File).ToLowerInvariant();
        string? connectionString = configuration[ConnectionStringKey] is { Length: > 0 } configured ? configured : configuration[ConnectionStringVariable];
        string schema = configuration[SchemaKey] is { Length: > 0 } s ? s : PostgresStateStore.DefaultSchema;
        switch (store)
        {
            case File:
                return Default;
            case Postgres when string.IsNullOrWhiteSpace(connectionString):
                problems.Add($"{StoreKey} is '{Postgres}' but no connection string is set: pass --connection-string, set {ConnectionStringKey}, " +
                    $"or (best for a password) the {ConnectionStringVariable} environment variable.");
                return Default;
            case Postgres:
                return Check(new StoreSettings(Postgres, connectionString, schema, ReadRetention(configuration, problems)), problems);
            default:
                problems.Add($"{StoreKey} is '{configuration[StoreKey]}', which is not a store: use '{File}' (the default) or '{Postgres}'.");
                return Default;
        }
    }

    /// <summary>Chooses the store on the persistence registration.</summary>
    public void Apply(StatePersistenceBuilder builder)
    {
        if (Store == Postgres)
        {
            builder.UsePostgres(ConnectionString!, Schema, ChangeRetention);
        }
    }

    /// <summary>The change log's retention when set: a positive time span (<c>01:00:00</c>), else a problem naming the setting.</summary>
    private static TimeSpan? ReadRetention(IConfiguration configuration, List<string> problems)
    {
        if (configuration[ChangeRetentionKey] is not { Length: > 0 } text)
        {
            return null;
        }

        if (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out TimeSpan retention) && retention > TimeSpan.Zero)
        {
            if (retention > PostgresStateStore.MaxChangeRetention)
            {
                // PostgreSQL cannot compute clock_timestamp() minus such a span: every prune, and so every read of the feed, failed.
                problems.Add($"{ChangeRetentionKey} must be at most {PostgresStateStore.MaxChangeRetention:c} (100 years) (was '{text}').");
                return null;
            }

            return retention;
        }

        problems.Add($"{ChangeRetentionKey} must be a time span greater than 00:00:00, such as 01:00:00 (was '{text}').");
        return null;
    }

    /// <summary>Parses the connection string and checks the schema name, as the store will, before anything starts.</summary>
    private static StoreSettings Check(StoreSettings settings, List<string> problems)
    {
        try
        {
            // Only parses: no connection is opened here.
            PostgresStateStore.ValidateConnectionString(settings.ConnectionString!);
            PostgresStateStore.ValidateSchema(settings.Schema);
        }
        catch (ArgumentException ex) when (ex.ParamName == "schema")
        {
            problems.Add($"{SchemaKey}: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            // The message never quotes the value, which may hold a password: it names the setting and what is wrong.
            // "The PostgreSQL connection string cannot be parsed; ...", or names the port out of range: where it was given
            // is added.
            problems.Add(ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal).Replace("The PostgreSQL connection string",
                $"The PostgreSQL connection string ({ConnectionStringKey} or {ConnectionStringVariable})", StringComparison.Ordinal));
        }

        return settings;
    }
}
