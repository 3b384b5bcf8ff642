using StatePersistence.Postgres;
using StatePersistence.Serialization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The PostgreSQL store as a choice on <see cref="StatePersistenceBuilder"/>.</summary>
public static class PostgresStatePersistenceBuilderExtensions
{
    /// <summary>
    /// Keeps the state in PostgreSQL, in <paramref name="schema"/> (created and upgraded when the service starts).
    /// Several instances may use one database and schema. <paramref name="connectionString"/> is any Npgsql connection
    /// string (multi-host ones included); it is never logged. An <see cref="IPayloadCodec"/> registered in the
    /// container is used for what the store encodes, else encryption when <c>StatePersistence:Encryption</c> names a key source.
    /// <paramref name="changeRetention"/> (positive, at most <see cref="PostgresStateStore.MaxChangeRetention"/>; default <see cref="PostgresStateStore.DefaultChangeRetention"/>) is
    /// how long a committed change stays in the change log.
    /// </summary>
    public static StatePersistenceBuilder UsePostgres(this StatePersistenceBuilder builder, string connectionString,
        string schema = PostgresStateStore.DefaultSchema, TimeSpan? changeRetention = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        // Checked here, at registration, so a bad name fails the configuration and not the first request.
        StatePersistence.Postgres.Schema.PostgresSchema.ValidateName(schema);
        if (changeRetention is { } retention)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero, nameof(changeRetention));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(retention, PostgresStateStore.MaxChangeRetention, nameof(changeRetention));
        }

        return builder.UseStore(sp => new PostgresStateStore(connectionString, schema, sp.GetService<IPayloadCodec>()
            ?? sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<StatePersistence.StatePersistenceOptions>>().Value.ResolvePayloadCodec(hasStateDirectory: false),
            changeRetention: changeRetention));
    }
}
