using Npgsql;
using NpgsqlTypes;
using StatePersistence.FileStore.Operations;
using StatePersistence.Ids;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>
/// The task archive in the database (schema version 8): each archive a row of <c>task_archives</c>, the <c>.tar.gz</c>
/// the file store would write, committed before the archiver reads it back and deletes a task, and shared by every
/// instance (one retention pass archives for all of them; <c>statectl archive restore NAME --store postgres</c>
/// restores from any machine). What an archive took along leaves the tables as a cap or an expiry does.
/// </summary>
public sealed partial class PostgresStateStore : ITaskArchiveStore
{
    // The archive lock a run of this store holds now, if any: its archive is written on the lock's connection.
    private ArchiveRunLock? _archiveRunLock;

    /// <inheritdoc />
    public StorePayloads ArchivePayloads => _payloads;

    /// <inheritdoc />
    /// <remarks>The store's location, the table and the name: <c>postgresql://host:port/db#schema/task_archives/NAME</c>.</remarks>
    public string DescribeTaskArchive(string name) => PostgresTaskArchiveReader.Describe(Location, name);

    /// <inheritdoc />
    /// <remarks>From the rows' columns (<see cref="Reading.TaskArchiveListing"/>): no archive is read.</remarks>
    public ValueTask<IReadOnlyList<TaskArchiveInfo>> ListTaskArchivesAsync(CancellationToken cancellationToken = default) =>
        Guarded("list the task archives", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return (IReadOnlyList<TaskArchiveInfo>)await Reading.TaskArchiveListing.ReadAsync(connection, null, _schema, null, cancellationToken).ConfigureAwait(false);
        });

    /// <inheritdoc />
    /// <remarks>Answered by the GIN index of <c>task_ids</c>: exactly the archives holding any of them.</remarks>
    public ValueTask<IReadOnlyList<string>> FindTaskArchivesAsync(IReadOnlyCollection<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        return Guarded("find the task archives holding tasks", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            List<TaskArchiveInfo> holding = await Reading.TaskArchiveListing.ReadAsync(connection, null, _schema, taskIds, cancellationToken).ConfigureAwait(false);
            return (IReadOnlyList<string>)[.. holding.Select(a => a.Name)];
        });
    }

    /// <inheritdoc />
    /// <remarks>From <c>items</c> by its key: a <c>statectl archive</c> run loads only the tasks it may choose.</remarks>
    public ValueTask<IReadOnlyCollection<string>?> FindLiveTasksAsync(IReadOnlyCollection<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        return Guarded("find which tasks are live", async () =>
        {
            await using NpgsqlCommand find = _dataSource.CreateCommand($"SELECT id FROM {_schema}.items WHERE kind = 'task' AND id = ANY($1)");
            find.Parameters.Add(new NpgsqlParameter { Value = taskIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            var live = new HashSet<string>(StringComparer.Ordinal);
            await using NpgsqlDataReader reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                live.Add(reader.GetString(0));
            }

            return (IReadOnlyCollection<string>?)live;
        });
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadTaskArchiveAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateArchiveName(name);
        return Guarded("read the task archive " + StateId.Quote(name), async () =>
        {
            await using NpgsqlCommand read = _dataSource.CreateCommand($"SELECT content FROM {_schema}.task_archives WHERE name = $1");
            read.Parameters.Add(Text(name));
            return await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// One <c>INSERT ... ON CONFLICT DO NOTHING</c>, committed with the WAL flushed (and, on a cluster with synchronous
    /// replication, on the standby) before it returns. While a run of this store holds the archive lock
    /// (<see cref="AcquireTaskArchiveLockAsync"/>), on the lock's own connection: the archive commits only while its
    /// session, and so the lock, lives. A run whose lock went with its connection fails here, before it deletes
    /// anything, instead of writing an archive beside the one the run that took the lock over writes of the same tasks
    /// (which finds this run's archive, when it committed, and finishes it).
    /// </remarks>
    public ValueTask<bool> TryWriteTaskArchiveAsync(string name, ReadOnlyMemory<byte> archive, IReadOnlyList<string> taskIds, string? sealedUnder,
        CancellationToken cancellationToken = default)
    {
        ValidateArchiveName(name);
        ArgumentNullException.ThrowIfNull(taskIds);
        return Guarded("write the task archive " + StateId.Quote(name), async () =>
        {
            string insert = $"INSERT INTO {_schema}.task_archives (name, task_ids, key_id, content) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING";
            NpgsqlParameter[] values =
            [
                Text(name),
                new NpgsqlParameter { Value = taskIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                new NpgsqlParameter { Value = (object?)sealedUnder ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                new NpgsqlParameter { Value = archive, NpgsqlDbType = NpgsqlDbType.Bytea },
            ];
            int written = Volatile.Read(ref _archiveRunLock) is { } turn
                ? await turn.RunAsync(connection => ExecuteOnAsync(connection, insert, Durability.Full, cancellationToken, values), cancellationToken).ConfigureAwait(false)
                : await ExecuteAsync(insert, Durability.Full, cancellationToken, values).ConfigureAwait(false);
            if (!string.Equals(sealedUnder, _payloads.ActiveKeyId, StringComparison.Ordinal))
            {
                // Sealed under a key that is no longer active: a re-encryption run that found nothing left must look again.
                Interlocked.Increment(ref _lateSealed);
            }

            return written == 1;
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// A session advisory lock (<see cref="ArchiveRunLockKey"/>) taken on a connection of its own, held for the run and
    /// released by <c>pg_advisory_unlock</c> at the end; the wait has no command timeout (a run of 10,000 tasks takes
    /// seconds) but ends with the token. A connection lost during the run loses the lock with its session, so a run on
    /// another instance may then start beside this one: what the lock prevents (two archives of one task) then becomes
    /// possible again, never a task lost, since each run deletes only what it read back whole.
    /// </remarks>
    public async ValueTask<IAsyncDisposable> AcquireTaskArchiveLockAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded("wait for the task archive lock", async () =>
        {
            NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using var take = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", connection) { CommandTimeout = 0 };
                take.Parameters.AddWithValue(ArchiveRunLockKey(_schema));
                await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                var turn = new ArchiveRunLock(this, connection, ArchiveRunLockKey(_schema));
                // One at a time per store: another run of this store waits in pg_advisory_lock until this one is released.
                Volatile.Write(ref _archiveRunLock, turn);
                return (IAsyncDisposable)turn;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The backend holding the schema's archive lock (<see cref="ArchiveRunLockKey"/>), as <c>pg_stat_activity</c> shows it.</remarks>
    public async ValueTask<string?> DescribeTaskArchiveLockHolderAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded("ask who holds the task archive lock", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await Reading.ArchiveLockHolder.DescribeAsync(connection, _schema, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>The key of the advisory lock archive runs and restores of <paramref name="schema"/> take in turn (<c>hashtextextended(key, 0)</c>).</summary>
    internal static string ArchiveRunLockKey(string schema) => "statepersistence.task_archives:" + schema;

    /// <summary>An archive's name as the archiver gives it (<see cref="TaskArchives.IsArchiveName"/>): it becomes a file name when copied out.</summary>
    private static void ValidateArchiveName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!TaskArchives.IsArchiveName(name))
        {
            throw new ArgumentException($"'{name}' is not the name of a task archive (a file name ending in {TaskArchives.FileExtension}).", nameof(name));
        }
    }

    /// <summary>
    /// An archive run's hold of the schema's archive lock, and the connection holding it, on which the run's archive is
    /// written (<see cref="RunAsync"/>, one statement at a time). Unlocked and its connection closed on the first
    /// dispose. Should the unlock fail, the connection's pool is cleared so the connection is closed rather than
    /// pooled: its session ends, and the lock with it.
    /// </summary>
    private sealed class ArchiveRunLock(PostgresStateStore store, NpgsqlConnection connection, string key) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _using = new(1, 1);
        private int _released;

        /// <summary>Runs <paramref name="run"/> on the lock's connection, once any statement before it there is done.</summary>
        public async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> run, CancellationToken cancellationToken)
        {
            await _using.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
                if (!Holding)
                {
                    // Npgsql would say only that the connection is not open.
                    throw new NpgsqlException("the connection holding the task archive lock was lost, and the lock with its session");
                }

                return await run(connection).ConfigureAwait(false);
            }
            finally
            {
                _using.Release();
            }
        }

        /// <summary>Whether the connection, and so its session and the lock, still lives as far as Npgsql knows.</summary>
        private bool Holding => connection.FullState == System.Data.ConnectionState.Open;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            Interlocked.CompareExchange(ref store._archiveRunLock, null, this);
            await _using.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (!Holding)
                {
                    // The session is gone (a terminated backend, a network cut), and its locks with it.
                    return;
                }

                await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", connection);
                release.Parameters.AddWithValue(key);
                await release.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The run's outcome stands (it is not this unlock's to change): the lock goes with the session, closed here.
                NpgsqlConnection.ClearPool(connection);
            }
            finally
            {
                _using.Release();
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
