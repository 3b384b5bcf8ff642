using Npgsql;
using NpgsqlTypes;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>
/// Removing what a task archive took along (<see cref="Retention.ITaskArchiveStore"/>): a session log or a report, each
/// only while it is still what the archive holds, decided in the transaction that deletes it. A removal whose
/// <c>COMMIT</c> lost its answer is settled by asking the database, as a create is (<see cref="CommitSettledAsync"/>):
/// removed, it answers removed; not settled, <see cref="Errors.StateOutcomeUnknownException"/>. Before 2026-12-07 it
/// failed as "could not remove" though the rows were gone (RemovalLostAnswerTests).
/// </summary>
public sealed partial class PostgresStateStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Its rows, part marks and size counters in one transaction, under the log's advisory lock, as a cap takes it. A
    /// commit the synchronous standby did not confirm fails (<see cref="Failures.StandbyConfirmation"/>); one whose
    /// answer was lost is settled by asking the database (the rows it removed gone: removed).
    /// </remarks>
    public ValueTask RemoveSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        return new ValueTask(Guarded("remove the log of session " + StateId.Quote(sessionId), async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteInAsync(connection, transaction, $"SELECT pg_advisory_xact_lock(hashtext('{_schema}.session_log_parts'), hashtext($1))", cancellationToken,
                Text(sessionId)).ConfigureAwait(false);
            // The rows removed and the transaction's id: what a COMMIT whose answer is lost is settled by (CommitSettledAsync).
            var removed = new List<long>();
            await using (var delete = new NpgsqlCommand($"DELETE FROM {_schema}.session_logs WHERE session_id = $1 RETURNING segment", connection, transaction))
            {
                delete.Parameters.Add(Text(sessionId));
                await using NpgsqlDataReader rows = await delete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    removed.Add(rows.GetInt64(0));
                }
            }

            await ExecuteInAsync(connection, transaction, $"DELETE FROM {_schema}.session_log_parts WHERE session_id = $1", cancellationToken, Text(sessionId)).ConfigureAwait(false);
            // The size counters the trigger left at zero: kept, 16 rows stayed behind for every log ever deleted.
            // One a concurrent append has just raised is kept (the condition is checked again on its new version).
            await ExecuteInAsync(connection, transaction, $"DELETE FROM {_schema}.session_log_sizes WHERE session_id = $1 AND bytes = 0", cancellationToken,
                Text(sessionId)).ConfigureAwait(false);
            long transactionId;
            await using (var id = new NpgsqlCommand("SELECT txid_current()", connection, transaction))
            {
                transactionId = (long)(await id.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            // A removal on the primary alone comes back after a failover: not acknowledged (Failures.StandbyConfirmation,
            // which CommitSettledAsync runs first); a lost answer is settled by asking whether the rows are gone. Before
            // 2026-12-07 a lost answer failed the removal ("could not remove") though the rows were gone (RemovalLostAnswerTests).
            long[] segments = [.. removed];
            await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.SessionLogRemovedAsync(_dataSource, _schema, sessionId, segments,
                transactionId, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken).ConfigureAwait(false);
            return true;
        }).AsTask());
    }

    /// <inheritdoc />
    /// <remarks>
    /// One transaction under the log's advisory lock (which a cap, a rotation, a create, an append and a removal take):
    /// its rows are read and opened, and when their text is <paramref name="archived"/> exactly those rows are deleted;
    /// a row that committed since the read anyway (one inserted by hand, without the lock) is then seen, and the
    /// transaction rolled back, keeping the log whole. An append waits for the lock: committed after the removal, it
    /// begins a new log.
    /// </remarks>
    public ValueTask<bool> RemoveSessionLogIfUnchangedAsync(string sessionId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        return Guarded("remove the archived log of session " + StateId.Quote(sessionId), async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteInAsync(connection, transaction, $"SELECT pg_advisory_xact_lock(hashtext('{_schema}.session_log_parts'), hashtext($1))", cancellationToken,
                Text(sessionId)).ConfigureAwait(false);
            var segments = new List<long>();
            using var text = new MemoryStream();
            await using (var read = new NpgsqlCommand($"SELECT segment, payload, xmin FROM {_schema}.session_logs WHERE session_id = $1 ORDER BY segment", connection, transaction))
            {
                read.Parameters.Add(Text(sessionId));
                await using NpgsqlDataReader rows = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (long segment, byte[] append) = OpenLogRow(rows, sessionId);
                    segments.Add(segment);
                    text.Write(append);
                }
            }

            if (segments.Count > 0 && !text.GetBuffer().AsSpan(0, (int)text.Length).SequenceEqual(archived.Span))
            {
                return false;
            }

            await ExecuteInAsync(connection, transaction, $"DELETE FROM {_schema}.session_logs WHERE session_id = $1 AND segment = ANY($2)", cancellationToken,
                Text(sessionId), new NpgsqlParameter { Value = segments.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint }).ConfigureAwait(false);
            long transactionId;
            // With the transaction's id, by which a COMMIT whose answer is lost is settled (CommitSettledAsync).
            await using (var others = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {_schema}.session_logs WHERE session_id = $1), txid_current()",
                connection, transaction))
            {
                others.Parameters.Add(Text(sessionId));
                await using NpgsqlDataReader row = await others.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await row.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (row.GetBoolean(0))
                {
                    return false;
                }

                transactionId = row.GetInt64(1);
            }

            await ExecuteInAsync(connection, transaction, $"DELETE FROM {_schema}.session_log_parts WHERE session_id = $1", cancellationToken, Text(sessionId)).ConfigureAwait(false);
            await ExecuteInAsync(connection, transaction, $"DELETE FROM {_schema}.session_log_sizes WHERE session_id = $1 AND bytes = 0", cancellationToken,
                Text(sessionId)).ConfigureAwait(false);
            long[] removed = [.. segments];
            await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.SessionLogRemovedAsync(_dataSource, _schema, sessionId, removed,
                transactionId, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken).ConfigureAwait(false);
            return true;
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// One transaction: the row is read <c>FOR UPDATE</c> (the lock a save's <c>ON CONFLICT DO UPDATE</c> waits for),
    /// opened, compared and deleted. A row that no longer opens (damaged since it was read) is not what was archived: it
    /// stays as it is.
    /// </remarks>
    public ValueTask<bool> RemoveReportIfUnchangedAsync(string reportId, ReadOnlyMemory<byte> archived, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        return Guarded("remove the archived report " + StateId.Quote(reportId), async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            byte[] stored;
            uint version;
            await using (var read = new NpgsqlCommand($"SELECT payload, xmin FROM {_schema}.reports WHERE id = $1 FOR UPDATE", connection, transaction))
            {
                read.Parameters.Add(Text(reportId));
                await using NpgsqlDataReader row = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await row.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }

                stored = row.GetFieldValue<byte[]>(0);
                version = row.GetFieldValue<uint>(1);
            }

            try
            {
                if (!Open(PayloadKind.Report, reportId, stored, ReportLocation(reportId), version).AsSpan().SequenceEqual(archived.Span))
                {
                    return false;
                }
            }
            catch (Errors.StateStorageException damaged) when (damaged.InnerException is InvalidDataException)
            {
                return false;
            }

            long transactionId;
            await using (var delete = new NpgsqlCommand($"DELETE FROM {_schema}.reports WHERE id = $1 RETURNING txid_current()", connection, transaction))
            {
                delete.Parameters.Add(Text(reportId));
                transactionId = (long)(await delete.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            await CommitSettledAsync(connection, transaction, settle => Failures.LostCommitAnswer.ReportRemovedAsync(_dataSource, _schema, reportId,
                transactionId, Failures.LostCommitAnswer.WaitFor(_commandTimeoutSeconds), settle), cancellationToken).ConfigureAwait(false);
            return true;
        });
    }

    /// <summary>One statement in <paramref name="transaction"/>; the rows it touched.</summary>
    private static async Task<int> ExecuteInAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken,
        params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
