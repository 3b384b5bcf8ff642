using StatePersistence.Cli.Infrastructure;
using StatePersistence.Commit;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>
/// <c>tasks list</c> and <c>tasks show</c> on a PostgreSQL store (<see cref="StoreChoice"/>): the tasks as one read-only
/// snapshot of the database holds them (<see cref="PostgresTaskReader"/>), where a state directory gives its consistent
/// read, each task handed on as it is read (a listing keeps its summary, not its JSON). A damaged row is warned about on
/// standard error, as a damaged file is, and the other tasks are still listed.
/// </summary>
internal static class TasksOnPostgres
{
    /// <summary>
    /// Hands the store's tasks (only <paramref name="id"/>'s when given) to <paramref name="each"/> in id order, keeping
    /// none, and warns about each row it could not read.
    /// </summary>
    public static async Task<PostgresTaskScan> ScanAsync(CommandContext context, StoreChoice store, string? id, Action<StoredItem> each,
        CancellationToken cancellationToken)
    {
        PostgresTaskScan scan = await store.ReadAsync((connectionString, schema) =>
            PostgresTaskReader.ScanAsync(connectionString, schema, context.PayloadCodec(), id, each, cancellationToken)).ConfigureAwait(false);
        foreach (PostgresRowProblem problem in scan.Problems)
        {
            context.Error.WriteLine("statectl: warning: " + problem);
        }

        return scan;
    }
}
