using Npgsql;

namespace StatePersistence.Postgres.Reading;

/// <summary>
/// The connection of an operator's read of a store (<see cref="PostgresTaskReader"/>, <see cref="PostgresKeyUsage"/>):
/// the connection string parsed without ever quoting it, since it may hold a password.
/// </summary>
internal static class OperatorConnection
{
    /// <summary>Parses <paramref name="connectionString"/>; a string that does not parse is <see cref="ArgumentException"/> naming no value.</summary>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // The parser's message may quote the value.
            throw new ArgumentException("The PostgreSQL connection string cannot be parsed; write it as Npgsql key=value pairs, such as Host=db;Database=state;Username=agent.",
                nameof(connectionString));
        }
    }
}
