using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// A minimal leader/follower group commit over raw Npgsql, the best case for any store that batches saves: a writer
/// adds its save to the open batch; the first writer into a batch leads it: once the previous leader is done it
/// takes the batch and commits it as one autocommitted statement (the rows as arrays, one parameter per column), then
/// completes the batch's task, which wakes the followers. One transaction in flight, as the PostgreSQL store has.
/// Nothing else: no item locks, no expectations, no feed positions, no listing columns, no notification.
/// </summary>
internal sealed class NpgsqlGroupCommitter(NpgsqlDataSource dataSource, string schema)
{
    private readonly Lock _gate = new();
    private readonly string _statement = $"""
        WITH u AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(id, body, o)),
             r AS (SELECT u.id, u.body, u.o, nextval('{schema}.revisions') AS revision FROM u),
             c AS (INSERT INTO {schema}.changes (revision, kind, id, body) SELECT revision, 'task', id, body::jsonb FROM r
                   RETURNING revision, id, body),
             last AS (SELECT DISTINCT ON (id) id, revision, body FROM c ORDER BY id, revision DESC)
        INSERT INTO {schema}.items (kind, id, revision, body) SELECT 'task', id, revision, body FROM last
        ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body
        """;

    private Batch _open = new();
    private Task _leaderDone = Task.CompletedTask;
    private long _batches;
    private int _lastBatchSize;
    private long _saves;

    /// <summary>Statements committed so far (one per batch).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Saves committed so far.</summary>
    public long Saves => Interlocked.Read(ref _saves);

    /// <summary>Saves <paramref name="json"/> as task <paramref name="id"/>; completes once its batch has committed.</summary>
    public Task SaveAsync(string id, string json)
    {
        Batch batch;
        Task previousLeader;
        TaskCompletionSource leaderDone;
        lock (_gate)
        {
            batch = _open;
            batch.Ids.Add(id);
            batch.Bodies.Add(json);
            if (batch.HasLeader)
            {
                return batch.Committed.Task;
            }

            batch.HasLeader = true;
            previousLeader = _leaderDone;
            leaderDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _leaderDone = leaderDone.Task;
        }

        return LeadAsync(batch, previousLeader, leaderDone);
    }

    private async Task LeadAsync(Batch batch, Task previousLeader, TaskCompletionSource leaderDone)
    {
        try
        {
            await previousLeader.ConfigureAwait(false);
            if (Volatile.Read(ref _lastBatchSize) > 1)
            {
                // As the store's group committer does: the writers the previous batch just woke are on the thread
                // pool's queue; letting them add their next saves first doubles the saves a statement carries.
                await Task.Yield();
            }

            lock (_gate)
            {
                // From here on no writer joins this batch: the next one opens (and leads) a new one.
                _open = new Batch();
            }

            await using NpgsqlCommand write = dataSource.CreateCommand(_statement);
            write.Parameters.Add(new NpgsqlParameter { Value = batch.Ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            write.Parameters.Add(new NpgsqlParameter { Value = batch.Bodies.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await write.ExecuteNonQueryAsync().ConfigureAwait(false);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _saves, batch.Ids.Count);
            Volatile.Write(ref _lastBatchSize, batch.Ids.Count);
            batch.Committed.SetResult();
        }
        catch (Exception e)
        {
            // Whatever stopped the leader, its followers must hear of it rather than wait forever.
            batch.Committed.TrySetException(e);
            throw;
        }
        finally
        {
            leaderDone.SetResult();
        }
    }

    /// <summary>The saves added since the last batch was taken; its leader is the first writer that joined it.</summary>
    private sealed class Batch
    {
        public List<string> Ids { get; } = [];

        public List<string> Bodies { get; } = [];

        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool HasLeader { get; set; }
    }
}
