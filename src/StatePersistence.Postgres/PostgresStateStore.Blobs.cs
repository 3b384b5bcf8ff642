using Npgsql;
using NpgsqlTypes;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>Session logs (one sealed row per append) and reports (one sealed row each).</summary>
public sealed partial class PostgresStateStore
{
    /// <inheritdoc />
    public async ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default) =>
        await Guarded("append to the log of session " + StateId.Quote(sessionId), () => LandingAsync(async () =>
        {
            await AppendSessionLogUnguardedAsync(sessionId, utf8Text, durability, cancellationToken).ConfigureAwait(false);
            return true;
        })).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>
    /// One transaction: the log's advisory lock (which a removal and a rotation take too), then an insert of the first
    /// row only where the session has none. Under the lock a second create waits for the first to commit, and its
    /// insert, a statement of its own, then sees the first one's row: of two instances restoring one archive, one writes.
    /// </remarks>
    public async ValueTask<bool> TryCreateSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default) =>
        await Guarded("create the log of session " + StateId.Quote(sessionId), () => LandingAsync(async () =>
        {
            StateId.Validate(sessionId, "session");
            byte[] sealedBytes = _payloads.Seal(PayloadKind.SessionLogAppend, sessionId, utf8Text.Span);
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
            var lockLog = new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock(hashtext('{_schema}.session_log_parts'), hashtext($1))");
            lockLog.Parameters.Add(Text(sessionId));
            var insert = new NpgsqlBatchCommand(
                $"INSERT INTO {_schema}.session_logs (session_id, payload) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM {_schema}.session_logs WHERE session_id = $1)");
            insert.Parameters.Add(Text(sessionId));
            insert.Parameters.Add(Bytes(sealedBytes));
            batch.BatchCommands.Add(lockLog);
            batch.BatchCommands.Add(insert);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return insert.RecordsAffected == 1;
        })).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Guarded("read the log of session " + StateId.Quote(sessionId), () => ReadSessionLogUnguardedAsync(sessionId, cancellationToken));

    /// <inheritdoc />
    /// <remarks>From the size counters the trigger keeps (one row per session and stripe): the sessions whose rows hold any bytes.</remarks>
    public ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return Guarded("list the session logs", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"""
                SELECT session_id FROM {_schema}.session_log_sizes WHERE $1::text IS NULL OR session_id COLLATE "C" > $1
                GROUP BY session_id HAVING sum(bytes) > 0 ORDER BY session_id COLLATE "C" LIMIT $2
                """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)after?.Split('\0')[0] ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            var ids = new List<string>();
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetString(0));
            }

            return (IReadOnlyList<string>)ids;
        });
    }

    /// <inheritdoc />
    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Guarded("size the log of session " + StateId.Quote(sessionId), () => SessionLogSizeUnguardedAsync(sessionId, cancellationToken));

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default) =>
        Guarded("save report " + StateId.Quote(reportId), () => LandingAsync(() => SaveReportUnguardedAsync(reportId, json, durability, cancellationToken)));

    /// <inheritdoc />
    /// <remarks>One <c>INSERT ... ON CONFLICT (id) DO NOTHING</c>: the row's key decides, in any number of instances.</remarks>
    public ValueTask<bool> TryCreateReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default) =>
        Guarded("create report " + StateId.Quote(reportId), () => LandingAsync(async () =>
        {
            StateId.Validate(reportId, "report");
            byte[] sealedBytes = _payloads.Seal(PayloadKind.Report, reportId, json.Span);
            return await ExecuteAsync($"INSERT INTO {_schema}.reports (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                durability, cancellationToken, Text(reportId), Bytes(sealedBytes)).ConfigureAwait(false) == 1;
        }));

    /// <inheritdoc />
    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) =>
        Guarded("load report " + StateId.Quote(reportId), () => LoadReportUnguardedAsync(reportId, cancellationToken));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        Guarded("list the reports", () => ListReportsPageUnguardedAsync(null, null, cancellationToken));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // PostgreSQL's text cannot hold NUL. No id has one (ids are ASCII letters, digits, '_' and '-'), so the ids
        // after a string that has one are exactly the ids after what comes before it.
        if (after?.IndexOf('\0', StringComparison.Ordinal) is int nul and >= 0)
        {
            after = after[..nul];
        }

        return Guarded("list the reports", () => ListReportsPageUnguardedAsync(after, limit, cancellationToken));
    }

    /// <inheritdoc />
    public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default) =>
        Guarded("count the reports", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT {_schema}.report_count()", connection);
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        });

    /// <summary>
    /// One insert, committed. The insert returns the row's segment and the transaction's id, so that a <c>COMMIT</c>
    /// whose answer is lost (the connection dropped, the server stopping) is settled by asking the database
    /// (<see cref="Failures.LostCommitAnswer"/>): a stored append is then reported stored, and counted in the health
    /// details (<c>commit_answers_lost</c>). Reported failed, it was sent again and the log held its text twice.
    /// </summary>
    private async ValueTask AppendSessionLogUnguardedAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        byte[] sealedBytes = _payloads.Seal(PayloadKind.SessionLogAppend, sessionId, utf8Text.Span);
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
        var insert = new NpgsqlBatchCommand($"INSERT INTO {_schema}.session_logs (session_id, payload) VALUES ($1, $2) RETURNING segment, txid_current()");
        insert.Parameters.Add(Text(sessionId));
        insert.Parameters.Add(Bytes(sealedBytes));
        batch.BatchCommands.Add(insert);
        (long segment, long transactionId) = (0, 0);
        await using (NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            do
            {
                // The insert's row is the only one with two columns (a setting before it returns none).
                while (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (segment, transactionId) = (reader.GetInt64(0), reader.GetInt64(1));
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
        }

        try
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            if (!await Failures.LostCommitAnswer.SessionLogAppendLandedAsync(_dataSource, _schema, sessionId, segment, transactionId, sealedBytes,
                Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), cancellationToken).ConfigureAwait(false))
            {
                throw;
            }

            Interlocked.Increment(ref _commitAnswersLost);
        }
    }

    private async ValueTask<byte[]?> ReadSessionLogUnguardedAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT segment, payload FROM {_schema}.session_logs WHERE session_id = $1 ORDER BY segment", connection);
        command.Parameters.Add(Text(sessionId));
        using var log = new MemoryStream();
        bool any = false;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            any = true;
            string where = $"{Location}/logs/{sessionId}/{reader.GetInt64(0)}";
            log.Write(Open(PayloadKind.SessionLogAppend, sessionId, reader.GetFieldValue<byte[]>(1), where));
        }

        return any ? log.ToArray() : null;
    }

    private async ValueTask<long> SessionLogSizeUnguardedAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT {_schema}.session_log_bytes($1)", connection);
        command.Parameters.Add(Text(sessionId));
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private async ValueTask<string> SaveReportUnguardedAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        byte[] sealedBytes = _payloads.Seal(PayloadKind.Report, reportId, json.Span);
        await ExecuteAsync($"INSERT INTO {_schema}.reports (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload",
            durability, cancellationToken, Text(reportId), Bytes(sealedBytes)).ConfigureAwait(false);
        return ReportLocation(reportId);
    }

    private async ValueTask<byte[]?> LoadReportUnguardedAsync(string reportId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT payload FROM {_schema}.reports WHERE id = $1", connection);
        command.Parameters.Add(Text(reportId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] stored
            ? Open(PayloadKind.Report, reportId, stored, ReportLocation(reportId))
            : null;
    }

    /// <summary>One page in "C" order, from the index in that order (schema version 6); every id when <paramref name="limit"/> is null (LIMIT NULL).</summary>
    private async ValueTask<IReadOnlyList<string>> ListReportsPageUnguardedAsync(string? after, int? limit, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(after is null
            ? $"SELECT id FROM {_schema}.reports ORDER BY id COLLATE \"C\" LIMIT $1"
            : $"SELECT id FROM {_schema}.reports WHERE id COLLATE \"C\" > $2 ORDER BY id COLLATE \"C\" LIMIT $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)limit ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        if (after is not null)
        {
            command.Parameters.Add(Text(after));
        }

        var ids = new List<string>(Math.Min(limit ?? 1024, 1024));
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private string ReportLocation(string reportId) => $"{Location}/reports/{reportId}";

    private byte[] Open(PayloadKind kind, string id, byte[] stored, string where)
    {
        try
        {
            return _payloads.Open(kind, id, stored, where);
        }
        catch (InvalidDataException ex)
        {
            throw new Errors.StateStorageException($"The row '{where}' cannot be read: {ex.Message}", where, ex, isTransient: false);
        }
    }

    /// <summary>One statement, committed; the rows it touched. Under <see cref="Durability.Relaxed"/> its commit does not wait for the WAL flush.</summary>
    private async Task<int> ExecuteAsync(string sql, Durability durability, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteOnAsync(connection, sql, durability, cancellationToken, parameters).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="sql"/> in a transaction of its own on <paramref name="connection"/>; the rows it affected.</summary>
    private static async Task<int> ExecuteOnAsync(NpgsqlConnection connection, string sql, Durability durability, CancellationToken cancellationToken,
        params NpgsqlParameter[] parameters)
    {
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(command);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return command.RecordsAffected;
    }

    /// <summary>A batch in <paramref name="transaction"/> whose commit, under <see cref="Durability.Relaxed"/>, does not wait for the WAL flush.</summary>
    private static NpgsqlBatch WriteBatch(NpgsqlConnection connection, NpgsqlTransaction transaction, Durability durability)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        if (durability == Durability.Relaxed)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
        }

        return batch;
    }

    private static NpgsqlParameter Text(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Bytes(byte[] value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bytea };
}
