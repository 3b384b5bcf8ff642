using Npgsql;
using NpgsqlTypes;
using StatePersistence.Ids;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>
/// The retention policy in the tables: a session log capped by <c>cap_session_log</c> (schema version 7: parts are
/// ranges of segments, a rotation one row), a report expired by a delete conditional on the row read. Every instance
/// of a shared database runs the pass's timer; the first to claim a pass in an interval runs it, and each operation
/// decides in its own transaction, so none is done twice even when two passes meet.
/// </summary>
public sealed partial class PostgresStateStore : IRetentionStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Claimed when the last claim of any instance is at least 90% of <paramref name="interval"/> old, by the
    /// database's clock: instances whose timers fire a little early then take turns rather than skip a whole interval.
    /// </remarks>
    public ValueTask<bool> ClaimPassAsync(TimeSpan interval, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        return Guarded("claim the retention pass", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT {_schema}.claim_retention_pass($1)", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = interval * 0.9, NpgsqlDbType = NpgsqlDbType.Interval });
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        });
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(long largerThan, CancellationToken cancellationToken = default) =>
        Guarded("list the session logs", async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"SELECT {_schema}.session_logs_larger_than($1)", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = Math.Max(largerThan, 0), NpgsqlDbType = NpgsqlDbType.Bigint });
            var ids = new List<string>();
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetString(0));
            }

            return (IReadOnlyList<string>)ids;
        });

    /// <inheritdoc />
    /// <remarks>
    /// Sizes are the rows' stored payloads (sealed, under encryption). A part is the range of segments up to a mark in
    /// <c>session_log_parts</c>, so reads, which serve every row in order, serve the parts before the live log. A commit
    /// the synchronous standby did not confirm fails (<see cref="Failures.StandbyConfirmation"/>).
    /// </remarks>
    public ValueTask<SessionLogTrim?> CapSessionLogAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(rotatedParts);
        return Guarded("cap the log of session " + StateId.Quote(sessionId), async () =>
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlBatch batch = WriteBatch(connection, transaction, durability);
            var cap = new NpgsqlBatchCommand($"SELECT log_bytes, bytes_freed, rotated FROM {_schema}.cap_session_log($1, $2, $3)");
            cap.Parameters.Add(Text(sessionId));
            cap.Parameters.Add(new NpgsqlParameter { Value = maxBytes, NpgsqlDbType = NpgsqlDbType.Bigint });
            cap.Parameters.Add(new NpgsqlParameter { Value = rotatedParts, NpgsqlDbType = NpgsqlDbType.Integer });
            batch.BatchCommands.Add(cap);
            SessionLogTrim? trim = null;
            await using (NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    trim = new SessionLogTrim(sessionId, reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
                }
            }

            // A cap on the primary alone is undone by a failover: not acknowledged (Failures.StandbyConfirmation).
            await Failures.StandbyConfirmation.CommitAsync(connection, () => transaction.CommitAsync(cancellationToken)).ConfigureAwait(false);
            return trim;
        });
    }

    /// <inheritdoc />
    /// <remarks>
    /// The row is read with its <c>xmin</c> and deleted only while it still has it: a report saved again (or rewritten
    /// by a re-encryption) after the read is kept and judged by the next pass. A row that does not open is evidence and
    /// stays as it is; when it is damaged (its payload fails the envelope's check) its version is marked in
    /// <c>damaged_reports</c> and it is an error naming it once: a later pass, on any instance, finding that version
    /// marked keeps it without an error. Another failure to open it (a key missing) is an error at every pass.
    /// </remarks>
    public ValueTask<long?> ExpireReportAsync(string reportId, Func<byte[], bool> isExpired, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        ArgumentNullException.ThrowIfNull(isExpired);
        return Guarded("expire report " + StateId.Quote(reportId), async () =>
        {
            byte[] stored;
            uint version;
            await using (NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            await using (var read = new NpgsqlCommand($"SELECT payload, xmin FROM {_schema}.reports WHERE id = $1", connection))
            {
                read.Parameters.Add(Text(reportId));
                await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return (long?)null;
                }

                stored = reader.GetFieldValue<byte[]>(0);
                version = reader.GetFieldValue<uint>(1);
            }

            byte[] json;
            try
            {
                json = Open(PayloadKind.Report, reportId, stored, ReportLocation(reportId), version);
            }
            catch (Errors.StateStorageException damaged) when (damaged.InnerException is InvalidDataException damage)
            {
                if (!await MarkDamagedReportAsync(reportId, version, damage.Message, cancellationToken).ConfigureAwait(false))
                {
                    // Reported by the pass that marked this version of the row, this instance's or another's.
                    return null;
                }

                throw new Errors.StateStorageException($"{damaged.Message}; it is kept as it was (marked in {_schema}.damaged_reports, so the " +
                    "retention pass does not report it again) instead of expiring.", damaged.Path, damage, isTransient: false);
            }

            if (!isExpired(json))
            {
                return null;
            }

            int deleted = await ExecuteAsync($"DELETE FROM {_schema}.reports WHERE id = $1 AND xmin = $2", durability, cancellationToken,
                Text(reportId), new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Xid }).ConfigureAwait(false);
            return deleted == 1 ? stored.Length : (long?)null;
        });
    }

    /// <summary>Marks <paramref name="version"/> of the report's row damaged; true when this call marked it (see <c>mark_damaged_report</c>).</summary>
    private async Task<bool> MarkDamagedReportAsync(string reportId, uint version, string reason, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var mark = new NpgsqlCommand($"SELECT {_schema}.mark_damaged_report($1, $2, $3)", connection);
        mark.Parameters.Add(Text(reportId));
        mark.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Xid });
        mark.Parameters.Add(Text(reason));
        return (bool)(await mark.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
