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
    /// One transaction: a wait for a session deletion holding the log (<see cref="HoldSessionLogAppendsAsync"/>), the
    /// log's advisory lock (which a removal and a rotation take too), then an insert of the first
    /// row only where the session has none. Under the lock a second create waits for the first to commit, and its
    /// insert, a statement of its own, then sees the first one's row: of two instances restoring one archive, one writes.
    /// A <c>COMMIT</c> whose answer is lost is settled as an append's is (<see cref="CommitSettledAsync"/>).
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
            var waitForDeletion = new NpgsqlBatchCommand(AppendsWaitSql);
            waitForDeletion.Parameters.Add(Text(sessionId));
            batch.BatchCommands.Add(waitForDeletion);
            var lockLog = new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock(hashtext('{_schema}.session_log_parts'), hashtext($1))");
            lockLog.Parameters.Add(Text(sessionId));
            var insert = new NpgsqlBatchCommand($"""
                INSERT INTO {_schema}.session_logs (session_id, payload) SELECT $1, $2
                WHERE NOT EXISTS (SELECT 1 FROM {_schema}.session_logs WHERE session_id = $1) RETURNING segment, txid_current()
                """);
            insert.Parameters.Add(Text(sessionId));
            insert.Parameters.Add(Bytes(sealedBytes));
            batch.BatchCommands.Add(lockLog);
            batch.BatchCommands.Add(insert);
            if (await InsertedAsync(batch, cancellationToken).ConfigureAwait(false) is not (long segment, long transactionId))
            {
                // The session has a log: nothing written, so however its COMMIT ends, the answer is "not created".
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return false;
            }

            await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.SessionLogRowLandedAsync(_dataSource, _schema,
                sessionId, segment, transactionId, sealedBytes, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken)
                .ConfigureAwait(false);
            return true;
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
            command.Parameters.Add(new NpgsqlParameter { Value = after is null ? DBNull.Value : (object)Listing.ListingText.SendableIdBound(after), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
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
    /// <remarks>
    /// One probe of the primary key (<c>SELECT EXISTS</c> on <c>session_id</c>), no payload read: a log whose rows are
    /// all in rotated parts (its size 0) is found like any. Before 2026-12-07 this store took the interface's default,
    /// which opened such a log, every row read and decrypted, and one under a key the key file no longer opens was
    /// refused, so <c>DELETE /api/sessions/{id}/log</c> answered 500 (SessionLogDeleteExistenceOnPostgresTests).
    /// </remarks>
    public ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Guarded("look for the log of session " + StateId.Quote(sessionId), async () =>
        {
            StateId.Validate(sessionId, "session");
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {_schema}.session_logs WHERE session_id = $1)", connection);
            command.Parameters.Add(Text(sessionId));
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        });

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default) =>
        Guarded("save report " + StateId.Quote(reportId), () => LandingAsync(() => SaveReportUnguardedAsync(reportId, json, durability, cancellationToken)));

    /// <inheritdoc />
    /// <remarks>
    /// One <c>INSERT ... ON CONFLICT (id) DO NOTHING</c>: the row's key decides, in any number of instances. A
    /// <c>COMMIT</c> whose answer is lost is settled as a log append's is (<see cref="CommitSettledAsync"/>).
    /// </remarks>
    public ValueTask<bool> TryCreateReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default) =>
        Guarded("create report " + StateId.Quote(reportId), () => LandingAsync(async () =>
        {
            StateId.Validate(reportId, "report");
            byte[] sealedBytes = _payloads.Seal(PayloadKind.Report, reportId, json.Span);
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
            // The id in the first column only to give the row the two columns InsertedAsync reads.
            var insert = new NpgsqlBatchCommand(
                $"INSERT INTO {_schema}.reports (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING 0::bigint, txid_current()");
            insert.Parameters.Add(Text(reportId));
            insert.Parameters.Add(Bytes(sealedBytes));
            batch.BatchCommands.Add(insert);
            if (await InsertedAsync(batch, cancellationToken).ConfigureAwait(false) is not (_, long transactionId))
            {
                // A report has the id: nothing written, so however its COMMIT ends, the answer is "not created".
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return false;
            }

            await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.ReportLandedAsync(_dataSource, _schema, reportId,
                transactionId, sealedBytes, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken).ConfigureAwait(false);
            return true;
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
        // PostgreSQL's text cannot hold NUL, nor can Npgsql send a lone surrogate: the bound is sent as the same bound in
        // text it can (see ListingText; before 2026-12-07 a lone surrogate failed the listing).
        after = after is null ? null : Listing.ListingText.SendableIdBound(after);

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
    /// whose answer is lost is settled by asking the database (<see cref="CommitSettledAsync"/>): a stored append is
    /// then reported stored. Reported failed, it was sent again and the log held its text twice. Two round trips (the
    /// insert, then the <c>COMMIT</c>), as before the settling: the transaction's id must be known before the
    /// <c>COMMIT</c> is sent, because sent in one batch with it, it would come back in the very answer that is lost.
    /// </summary>
    private async ValueTask AppendSessionLogUnguardedAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        byte[] sealedBytes = _payloads.Seal(PayloadKind.SessionLogAppend, sessionId, utf8Text.Span);
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);

        // A deletion of the session running in any instance holds the log: the append lands after its removal, not in it.
        var waitForDeletion = new NpgsqlBatchCommand(AppendsWaitSql);
        waitForDeletion.Parameters.Add(Text(sessionId));
        batch.BatchCommands.Add(waitForDeletion);
        // The log's advisory lock (its create, cap and removal take it too) before the segment: appends to one log then
        // commit in the order of their segments, so readers see the log grow at its end only, as the file store's does
        // under its lock. Unlocked, a later append could commit first and an earlier one show up in the middle of text
        // a reader had seen (SessionLogAppendOrderTests). Appends to one log wait for each other; to others, not.
        var appendsInOrder = new NpgsqlBatchCommand($"SELECT pg_advisory_xact_lock(hashtext('{_schema}.session_log_parts'), hashtext($1))");
        appendsInOrder.Parameters.Add(Text(sessionId));
        batch.BatchCommands.Add(appendsInOrder);
        var insert = new NpgsqlBatchCommand($"INSERT INTO {_schema}.session_logs (session_id, payload) VALUES ($1, $2) RETURNING segment, txid_current()");
        insert.Parameters.Add(Text(sessionId));
        insert.Parameters.Add(Bytes(sealedBytes));
        batch.BatchCommands.Add(insert);
        (long segment, long transactionId) = await InsertedAsync(batch, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The session log's insert returned no row.");
        await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.SessionLogRowLandedAsync(_dataSource, _schema, sessionId,
            segment, transactionId, sealedBytes, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="batch"/>, whose insert returns (a segment or 0, <c>txid_current()</c>) for its row; null
    /// when it inserted none.
    /// </summary>
    private static async Task<(long Segment, long TransactionId)?> InsertedAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        (long, long)? inserted = null;
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        do
        {
            // The insert's row is the only one with two columns (a setting or a lock before it returns none or one).
            while (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                inserted = (reader.GetInt64(0), reader.GetInt64(1));
            }
        }
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));

        return inserted;
    }

    /// <summary>
    /// Commits <paramref name="transaction"/>, whose write <paramref name="landed"/> looks for. A <c>COMMIT</c> left
    /// without its answer (the connection lost under it, or broken by Npgsql when the caller's cancellation found the
    /// database not answering) may have committed, so the database is asked on a new connection
    /// (<see cref="Failures.LostCommitAnswer"/>; with the caller's token, or none once it is cancelled: the question is
    /// bounded by the connection string's Timeout and Command Timeout). Stored: the commit returns, as committed, and
    /// is counted in the health details (<c>commit_answers_lost</c>). Aborted: the commit's own failure. Not known: a failure saying it may have been
    /// stored (<see cref="Failures.CommitAnswerLostException"/>). A <c>COMMIT</c> the database answered with an error,
    /// or cancelled, on a connection still open, did not commit: its failure as it is. A <c>COMMIT</c> whose wait for the
    /// synchronous standby was cancelled, or whose backend was terminated while it waited, committed on the primary
    /// alone: a failure saying so (<see cref="Failures.StandbyConfirmation"/>), never settled as a lost answer.
    /// </summary>
    private async Task CommitSettledAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Func<CancellationToken, Task<Failures.LostCommitAnswer.Outcome>> landed, CancellationToken cancellationToken)
    {
        try
        {
            // Committed on the primary, but its wait for the synchronous standby was cancelled or ended: not acknowledged
            // as stored, and not a lost answer to settle (CommitNotConfirmedException).
            await Failures.StandbyConfirmation.CommitAsync(connection, () => transaction.CommitAsync(cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception lost) when ((lost is NpgsqlException and not Failures.CommitNotConfirmedException or OperationCanceledException)
            && connection.State != System.Data.ConnectionState.Open)
        {
            switch (await landed(cancellationToken.IsCancellationRequested ? CancellationToken.None : cancellationToken).ConfigureAwait(false))
            {
                case Failures.LostCommitAnswer.Outcome.Stored:
                    Interlocked.Increment(ref _commitAnswersLost);
                    return;
                case Failures.LostCommitAnswer.Outcome.NotStored:
                    throw;
                default:
                    throw new Failures.CommitAnswerLostException(lost);
            }
        }
    }

    private async ValueTask<byte[]?> ReadSessionLogUnguardedAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT segment, payload, xmin FROM {_schema}.session_logs WHERE session_id = $1 ORDER BY segment", connection);
        command.Parameters.Add(Text(sessionId));
        using var log = new MemoryStream();
        bool any = false;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            any = true;
            log.Write(OpenLogRow(reader, sessionId).Text);
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
        Readable(ReportLocation(reportId)); // replaced
        return ReportLocation(reportId);
    }

    private async ValueTask<byte[]?> LoadReportUnguardedAsync(string reportId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT payload, xmin FROM {_schema}.reports WHERE id = $1", connection);
        command.Parameters.Add(Text(reportId));
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? Open(PayloadKind.Report, reportId, reader.GetFieldValue<byte[]>(0), ReportLocation(reportId), reader.GetFieldValue<uint>(1))
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

    /// <summary>
    /// The plain bytes of the row at <paramref name="where"/> (a report's, or a log's row <paramref name="segment"/>),
    /// read at <paramref name="version"/> (its xmin). A row that does not open fails the read naming it and is listed in
    /// health until it is replaced or deleted; a damaged one is also raised (<see cref="DamageFound"/>: logged and
    /// counted as corruption), once for each version of it.
    /// </summary>
    private byte[] Open(PayloadKind kind, string id, byte[] stored, string where, uint version, long? segment = null)
    {
        try
        {
            byte[] opened = _payloads.Open(kind, id, stored, where);
            Readable(where);
            return opened;
        }
        catch (InvalidDataException ex)
        {
            string reason = $"The row '{where}' cannot be read: {ex.Message}";
            if (ListUnreadable(where, id, segment, version, $"{reason} (damaged; left as it is)"))
            {
                _damageFound?.Invoke(this, new Recovery.QuarantinedFile(where, where, ex.Message) { LeftInPlace = true });
            }

            throw new Errors.StateStorageException(reason, where, ex, isTransient: false);
        }
        catch (Errors.StateFormatException ex)
        {
            // Not damage (intact bytes under a key or codec this instance lacks): listed, not raised, as on the file store.
            ListUnreadable(where, id, segment, version, ex.Message);
            throw;
        }
    }

    /// <summary>One statement, committed; the rows it touched. Under <see cref="Durability.Relaxed"/> its commit does not wait for the WAL flush.</summary>
    private async Task<int> ExecuteAsync(string sql, Durability durability, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ExecuteOnAsync(connection, sql, durability, cancellationToken, parameters).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> in a transaction of its own on <paramref name="connection"/>; the rows it affected. A
    /// commit the synchronous standby did not confirm fails (<see cref="Failures.StandbyConfirmation"/>).
    /// </summary>
    private static async Task<int> ExecuteOnAsync(NpgsqlConnection connection, string sql, Durability durability, CancellationToken cancellationToken,
        params NpgsqlParameter[] parameters)
    {
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(command);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await Failures.StandbyConfirmation.CommitAsync(connection, () => transaction.CommitAsync(cancellationToken)).ConfigureAwait(false);

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
