using StatePersistence.Cli.Infrastructure;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>
/// <c>tasks list</c> and <c>tasks show</c> on a PostgreSQL store (<see cref="StoreChoice"/>): the tasks as one read-only
/// snapshot of the database holds them (<see cref="PostgresTaskReader"/>), where a state directory gives its consistent
/// read. A damaged row is warned about on standard error, as a damaged file is, and the other tasks are still listed.
/// </summary>
internal static class TasksOnPostgres
{
    /// <summary>Reads the store's tasks (only <paramref name="id"/>'s when given), warning about each row it could not read.</summary>
    public static async Task<PostgresTaskRead> ReadAsync(CommandContext context, StoreChoice store, string? id, CancellationToken cancellationToken)
    {
        PostgresTaskRead read = await store.ReadAsync((connectionString, schema) =>
            PostgresTaskReader.ReadAsync(connectionString, schema, context.PayloadCodec(), id, cancellationToken)).ConfigureAwait(false);
        foreach (PostgresRowProblem problem in read.Problems)
        {
            context.Error.WriteLine("statectl: warning: " + problem);
        }

        return read;
    }
}
