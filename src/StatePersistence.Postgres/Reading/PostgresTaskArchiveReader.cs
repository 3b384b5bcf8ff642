using StatePersistence.Postgres.Reading;
using StatePersistence.Retention;

namespace StatePersistence.Postgres;

/// <summary>
/// The task archives of a PostgreSQL store, listed without opening a store (nothing created, upgraded or loaded: an
/// instance's open loads every live task, which a listing of archives does not need), in one read-only snapshot, so it
/// is safe beside running instances. What <c>statectl archive list --store postgres</c> prints.
/// </summary>
public static class PostgresTaskArchiveReader
{
    /// <summary>The schema version that has <c>task_archives</c>.</summary>
    private const int TaskArchivesVersion = 8;

    /// <summary>Where the archive <paramref name="name"/> of the store at <paramref name="location"/> is: <c>postgresql://host:port/db#schema/task_archives/NAME</c>.</summary>
    public static string Describe(string location, string name) => $"{location}/task_archives/{name}";

    /// <summary>
    /// The archives of the store in <paramref name="schema"/>, in name order, each with its size, task count and time of
    /// writing; with <paramref name="taskIds"/>, only those holding one of these tasks. Throws <see cref="ArgumentException"/>
    /// for a connection string that does not parse (without quoting it) or a bad schema name, and
    /// <see cref="Errors.StateStorageException"/> naming the database and schema when it cannot be reached, holds no
    /// store, or holds one older than version 8 (which keeps no archives) or newer than this build reads.
    /// </summary>
    public static async Task<(string Location, IReadOnlyList<TaskArchiveInfo> Archives)> ListAsync(string connectionString,
        string schema = PostgresStateStore.DefaultSchema, IReadOnlyCollection<string>? taskIds = null, CancellationToken cancellationToken = default)
    {
        string location = "";
        List<TaskArchiveInfo> archives = await OperatorConnection.ReadAsync(connectionString, schema, TaskArchivesVersion, "list its task archives",
            async (connection, snapshot, where) =>
            {
                location = where;
                return await TaskArchiveListing.ReadAsync(connection, snapshot, schema, taskIds, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        return (location, archives);
    }

    /// <summary>
    /// Who holds the store's task archive lock now (an archive run or restore in progress: an instance's retention
    /// pass, an operator's <c>statectl</c>), as <c>pg_stat_activity</c> shows the backend: null when no one does. A
    /// look, not a reservation: the holder may be done a moment later. What <c>statectl archive --store postgres</c>
    /// says before it waits its turn. Fails as <see cref="ListAsync"/> does, but needs only a valid schema name.
    /// </summary>
    public static Task<string?> DescribeArchiveLockHolderAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        CancellationToken cancellationToken = default) =>
        OperatorConnection.RunAsync(connectionString, schema, "be asked who holds its task archive lock", async (dataSource, _) =>
        {
            await using Npgsql.NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await ArchiveLockHolder.DescribeAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        });
}
