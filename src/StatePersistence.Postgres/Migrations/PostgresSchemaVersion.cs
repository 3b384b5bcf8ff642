namespace StatePersistence.Postgres;

/// <summary>One version of a PostgreSQL store's schema: its number, what its step does, and when it was applied.</summary>
/// <param name="Version">The version the step brings the schema to (1 creates the store).</param>
/// <param name="Description">What the step does, as <c>schema_version</c> records it.</param>
/// <param name="AppliedAt">When the database committed it (its <c>applied_at</c>); null for a step not applied yet.</param>
public sealed record PostgresSchemaVersion(int Version, string Description, DateTimeOffset? AppliedAt);
