using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// Whether a write whose <c>COMMIT</c> failed (the connection lost or the server stopping while it committed) was
/// stored after all. Such a failure leaves the outcome unknown, and an append (to a session log, to a task's log) is a
/// write its caller cannot safely repeat: reported failed, a stored append is sent again and is there twice. So it is
/// asked of the database, on a new connection: the transaction's status (<c>txid_status</c>, waited on while the old
/// backend is still committing or dying), and, when it committed, its rows themselves (a transaction id that a crash
/// took back before it was flushed may be given again; the rows tell that one from this one). Both: stored. The
/// transaction aborted: not stored, and the write's own failure is reported, as before. Anything else (still in
/// progress past the wait, unknown to the server, committed without the rows, a failure of the check itself): unknown,
/// which the write reports as such (<see cref="CommitAnswerLostException"/>): never is a write that may be missing
/// reported stored, nor one that may be stored reported not stored.
/// </summary>
internal static class LostCommitAnswer
{
    /// <summary>What the database showed of a write whose COMMIT answer was lost.</summary>
    public enum Outcome
    {
        /// <summary>Its transaction committed and its rows are there.</summary>
        Stored,

        /// <summary>Its transaction aborted: nothing of it is stored.</summary>
        NotStored,

        /// <summary>Neither could be shown.</summary>
        Unknown,
    }

    /// <summary>How often the transaction's status is asked again while it is still in progress.</summary>
    private static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a lost answer waits for its transaction to end: the connection string's Command Timeout, or 30 s (the
    /// Npgsql default) when it is 0, which means no timeout at all.
    /// </summary>
    public static TimeSpan WaitFor(int commandTimeoutSeconds) => TimeSpan.FromSeconds(commandTimeoutSeconds > 0 ? commandTimeoutSeconds : 30);

    /// <summary>
    /// Whether transaction <paramref name="transactionId"/> committed with the log of <paramref name="sessionId"/> holding
    /// <paramref name="payload"/> at <paramref name="segment"/> (an append, or the first row of a log's create); waits up
    /// to <paramref name="wait"/> for the transaction to end.
    /// </summary>
    public static Task<Outcome> SessionLogRowLandedAsync(NpgsqlDataSource dataSource, string schema, string sessionId, long segment,
        long transactionId, byte[] payload, TimeSpan wait, CancellationToken cancellationToken) =>
        RowLandedAsync(dataSource, transactionId, wait,
            $"SELECT EXISTS (SELECT 1 FROM {schema}.session_logs WHERE session_id = $1 AND segment = $2 AND payload = $3)",
            [Text(sessionId), new NpgsqlParameter { Value = segment, NpgsqlDbType = NpgsqlDbType.Bigint }, Bytes(payload)], cancellationToken);

    /// <summary>
    /// Whether transaction <paramref name="transactionId"/> committed with report <paramref name="reportId"/> holding
    /// <paramref name="payload"/> (a report's create); waits up to <paramref name="wait"/> for the transaction to end.
    /// </summary>
    public static Task<Outcome> ReportLandedAsync(NpgsqlDataSource dataSource, string schema, string reportId, long transactionId, byte[] payload,
        TimeSpan wait, CancellationToken cancellationToken) =>
        RowLandedAsync(dataSource, transactionId, wait, $"SELECT EXISTS (SELECT 1 FROM {schema}.reports WHERE id = $1 AND payload = $2)",
            [Text(reportId), Bytes(payload)], cancellationToken);

    /// <summary>
    /// Whether transaction <paramref name="transactionId"/>, an archived report's removal, committed with report
    /// <paramref name="reportId"/> gone; waits up to <paramref name="wait"/> for the transaction to end. A report there
    /// again (saved anew since, or an id a crash took back and gave again): unknown.
    /// </summary>
    public static Task<Outcome> ReportRemovedAsync(NpgsqlDataSource dataSource, string schema, string reportId, long transactionId, TimeSpan wait,
        CancellationToken cancellationToken) =>
        RowLandedAsync(dataSource, transactionId, wait, $"SELECT NOT EXISTS (SELECT 1 FROM {schema}.reports WHERE id = $1)", [Text(reportId)],
            cancellationToken);

    /// <summary>
    /// Whether transaction <paramref name="transactionId"/>, an archived session log's removal, committed with none of
    /// the log's <paramref name="segments"/> left; waits up to <paramref name="wait"/> for the transaction to end.
    /// </summary>
    public static Task<Outcome> SessionLogRemovedAsync(NpgsqlDataSource dataSource, string schema, string sessionId, long[] segments,
        long transactionId, TimeSpan wait, CancellationToken cancellationToken) =>
        RowLandedAsync(dataSource, transactionId, wait,
            $"SELECT NOT EXISTS (SELECT 1 FROM {schema}.session_logs WHERE session_id = $1 AND segment = ANY($2))",
            [Text(sessionId), new NpgsqlParameter { Value = segments, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint }], cancellationToken);

    /// <summary>
    /// The outcome of transaction <paramref name="transactionId"/>, whose write <paramref name="rowThere"/> (a query of
    /// one boolean) finds when it is stored: its row there, or, for a removal, the rows it removed gone.
    /// </summary>
    private static async Task<Outcome> RowLandedAsync(NpgsqlDataSource dataSource, long transactionId, TimeSpan wait, string rowThere,
        NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            if (await TransactionOutcomeAsync(connection, transactionId, wait, cancellationToken).ConfigureAwait(false) is not Outcome.Stored and var ended)
            {
                return ended;
            }

            await using var row = new NpgsqlCommand(rowThere, connection);
            row.Parameters.AddRange(parameters);
            // Committed without the row: a transaction id a crash took back and gave again (this write was lost), or the
            // row removed since (it was stored): not known which.
            return (bool)(await row.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! ? Outcome.Stored : Outcome.Unknown;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            // The check failed too (the database still down, a transaction id "in the future" on a promoted standby).
            return Outcome.Unknown;
        }
    }

    /// <summary>
    /// The revisions and feed positions of the groups a writer's transaction <paramref name="transactionId"/> wrote, when
    /// it committed: its change rows, found above <paramref name="revisionFloor"/> (the sequence's value before it took
    /// any) by their <c>xmin</c>, one revision per group, in the groups' order, each holding the items
    /// <paramref name="groups"/> names for it (<c>kind:id</c>, in the group's order). Unknown when it committed but its
    /// rows are not all found as written (numbered by a reader since, under relaxed durability, or rewritten by a
    /// re-encryption); not stored when it aborted.
    /// </summary>
    public static async Task<(Outcome Outcome, long[] Revisions, Dictionary<long, long> Positions)> GroupsLandedAsync(NpgsqlDataSource dataSource,
        string schema, long transactionId, long revisionFloor, IReadOnlyList<string[]> groups, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            if (await TransactionOutcomeAsync(connection, transactionId, wait, cancellationToken).ConfigureAwait(false) is not Outcome.Stored and var ended)
            {
                return (ended, [], []);
            }

            // The transaction's own numbering also stamped groups other writers committed without a position: their
            // rows carry its xmin too, so each group is told by its items, in order, as well.
            await using var written = new NpgsqlCommand($"""
                SELECT revision, min(position), array_agg(kind || ':' || id ORDER BY ordinal) FROM {schema}.changes
                WHERE revision > $1 AND xmin = $2 GROUP BY revision ORDER BY revision
                """, connection);
            written.Parameters.Add(new NpgsqlParameter { Value = revisionFloor, NpgsqlDbType = NpgsqlDbType.Bigint });
            written.Parameters.Add(new NpgsqlParameter { Value = (uint)(transactionId & uint.MaxValue), NpgsqlDbType = NpgsqlDbType.Xid });
            var revisions = new List<long>();
            var positions = new Dictionary<long, long>();
            await using (NpgsqlDataReader reader = await written.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (revisions.Count < groups.Count && reader.GetFieldValue<string[]>(2).AsSpan().SequenceEqual(groups[revisions.Count]))
                    {
                        revisions.Add(reader.GetInt64(0));
                        if (!reader.IsDBNull(1))
                        {
                            positions[reader.GetInt64(0)] = reader.GetInt64(1);
                        }
                    }
                }
            }

            return revisions.Count == groups.Count ? (Outcome.Stored, [.. revisions], positions) : (Outcome.Unknown, [], []);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            // As for a row: the check failed too.
            return (Outcome.Unknown, [], []);
        }
    }

    /// <summary>
    /// Whether transaction <paramref name="transactionId"/> committed (<see cref="Outcome.Stored"/>, its rows still to be
    /// looked for) or aborted: asked again while it is in progress (the old backend still committing, or not yet aware
    /// that its client is gone), up to <paramref name="wait"/>. Still in progress past the wait, or unknown to this
    /// server (a failover to a standby that never received it): unknown.
    /// </summary>
    private static async Task<Outcome> TransactionOutcomeAsync(NpgsqlConnection connection, long transactionId, TimeSpan wait,
        CancellationToken cancellationToken)
    {
        long giveUpAt = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            await using var status = new NpgsqlCommand("SELECT txid_status($1)", connection);
            status.Parameters.Add(new NpgsqlParameter { Value = transactionId, NpgsqlDbType = NpgsqlDbType.Bigint });
            switch (await status.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string)
            {
                case "committed":
                    return Outcome.Stored;
                case "aborted":
                    return Outcome.NotStored;
                case "in progress" when Stopwatch.GetTimestamp() < giveUpAt:
                    await Task.Delay(StatusPoll, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    return Outcome.Unknown;
            }
        }
    }

    private static NpgsqlParameter Text(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Bytes(byte[] value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bytea };
}
