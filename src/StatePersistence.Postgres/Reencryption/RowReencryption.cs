using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Listing;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Reencryption;

/// <summary>
/// One step of the background re-encryption over the store's rows: reads up to a budget of rows not under the target
/// (<see cref="StaleRows"/>), opens each with the key ring (old keys are retired, not gone) and seals it again under
/// the active key, or writes it in the clear when no key is active (an item back into <c>body jsonb</c> with its
/// listing columns, so the listing is answered by PostgreSQL again). Each rewrite is one <c>UPDATE</c> that applies
/// only while the row is still exactly what was read (the same revision and the same bytes): a write that came
/// between, from this instance or another, wins and the row is left to it (its own write is under the active key
/// already). The content is unchanged, so no revision is taken and nothing enters the change feed; every instance
/// keeps serving from its memory.
/// </summary>
internal sealed class RowReencryption(NpgsqlDataSource dataSource, string schema, ChangeRows rows, StorePayloads payloads, UnconfirmedRewrites unconfirmed)
{
    /// <summary>
    /// Rows that did not open, reported once and skipped by later steps; they stay counted as remaining. Damage for
    /// good; a row refused for lack of the right key or codec only while the key ring stays as it was (see
    /// <see cref="_ringSeen"/>): a key put back into the key file lets it open.
    /// </summary>
    private readonly HashSet<string> _unopenable = new(StringComparer.Ordinal);

    /// <summary>The rows of <see cref="_unopenable"/> refused for lack of the right key or codec rather than for damage.</summary>
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    /// <summary>The key ring's ids and states when <see cref="_refused"/> was last judged.</summary>
    private string _ringSeen = "";

    /// <summary>
    /// Rewrites up to <paramref name="maxRows"/> rows under <paramref name="activeKeyId"/> (the clear when null); returns
    /// the rows rewritten and those still not under it. A row that does not open (damage, or a key the ring lacks or
    /// has revoked) is left as it is and reported, after the others are written, by a <see cref="StateStorageException"/>
    /// naming it; before 2026-12-07 a row under a revoked key stopped the step, and the rows after it were never
    /// rewritten, at every step.
    /// </summary>
    public async Task<(int Rewritten, int Remaining)> StepAsync(string? activeKeyId, int maxRows, CancellationToken cancellationToken)
    {
        ForgetRefusalsIfTheRingChanged();
        var stale = new StaleRows(schema, activeKeyId);
        var damaged = new List<string>();
        Exception? firstDamage = null;
        int rewritten = 0;
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        foreach (string table in StaleRows.Tables)
        {
            if (rewritten >= maxRows)
            {
                break;
            }

            List<StoredRow> found = await ReadAsync(connection, stale, table, maxRows - rewritten, cancellationToken).ConfigureAwait(false);

            // One round trip, but each UPDATE in a transaction of its own (a Sync after each): the step then never
            // holds one row's lock while it waits for another's, so it can never deadlock with a writer (which locks
            // several items at once), the change feed's numbering or the pruner, and never makes their transactions fail.
            // Nor with a retention cap of the same log: a log row's UPDATE locks the row, then (its AFTER trigger, at
            // the statement's end) a size stripe and the part mark above it; the cap locks the rows it deletes before
            // any stripe (its own triggers fire only once the DELETE has every row) and the marks it deletes after
            // them, and those marks are at or below rows it deleted, so neither can hold what the other waits for.
            await using var batch = new NpgsqlBatch(connection) { EnableErrorBarriers = true };
            foreach (StoredRow row in found)
            {
                if (Rewrite(row, out Exception? damage) is { } update)
                {
                    batch.BatchCommands.Add(update);
                }
                else if (_unopenable.Add(row.Where))
                {
                    if (damage is StateFormatException)
                    {
                        _refused.Add(row.Where);
                    }

                    damaged.Add($"{rows.Location}/{row.Where}");
                    firstDamage ??= damage;
                }
            }

            if (batch.BatchCommands.Count > 0)
            {
                // Each UPDATE applies only to a row still as it was read. Its commit watched: one the synchronous
                // standby did not confirm fails the step, its rows not counted as rewritten (UnconfirmedRewrites).
                await unconfirmed.CommitAsync(connection, batch.BatchCommands.Count, () => batch.ExecuteNonQueryAsync(cancellationToken)).ConfigureAwait(false);
                foreach (NpgsqlBatchCommand update in batch.BatchCommands)
                {
                    rewritten += update.RecordsAffected == 1 ? 1 : 0;
                }
            }
        }

        await using NpgsqlCommand count = stale.Count(connection);
        int remaining = (int)Math.Min(int.MaxValue, (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
        if (damaged.Count > 0)
        {
            throw new StateStorageException(
                $"The re-encryption left {damaged.Count} row(s) as they are, because they cannot be read (damaged, or under a key the key ring lacks or has revoked): {string.Join(", ", damaged.Select(w => $"'{w}'"))} " +
                $"(the first: {firstDamage?.Message}). They stay under their key, counted as remaining; a read of them fails naming the row. The other rows were rewritten.",
                damaged[0], firstDamage, isTransient: false);
        }

        return (rewritten, remaining);
    }

    /// <summary>The stale rows of <paramref name="table"/>, up to <paramref name="limit"/> beside those known not to open.</summary>
    private async Task<List<StoredRow>> ReadAsync(NpgsqlConnection connection, StaleRows stale, string table, int limit, CancellationToken cancellationToken)
    {
        string columns = table switch
        {
            "items" => "kind, id, revision, 0, body::text, sealed",
            "changes" => "kind, id, revision, ordinal, body::text, sealed",
            "session_logs" => "'log', session_id, segment, 0, NULL::text, payload",
            _ => "'report', id, 0::bigint, 0, NULL::text, payload",
        };
        await using var command = new NpgsqlCommand($"SELECT {columns} FROM {schema}.{table} WHERE {stale.Condition(table)} LIMIT $2", connection);
        stale.AddTarget(command.Parameters);
        command.Parameters.Add(new NpgsqlParameter { Value = (long)limit + _unopenable.Count, NpgsqlDbType = NpgsqlDbType.Bigint });
        var found = new List<StoredRow>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (found.Count < limit && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var row = new StoredRow(table, reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<byte[]>(5));
            if (!_unopenable.Contains(row.Where))
            {
                found.Add(row);
            }
        }

        return found;
    }

    /// <summary>The conditional UPDATE that puts <paramref name="row"/> under the target; null, with the reason, when it does not open.</summary>
    private NpgsqlBatchCommand? Rewrite(StoredRow row, out Exception? damage)
    {
        damage = null;
        try
        {
            return row.Table switch
            {
                "items" => RewriteItem(row),
                "changes" => RewriteChange(row),
                "session_logs" => RewriteBlob(row, PayloadKind.SessionLogAppend, "session_id = $3 AND segment = $4"),
                _ => RewriteBlob(row, PayloadKind.Report, "id = $3"),
            };
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or StateStorageException { IsTransient: false } or StateFormatException)
        {
            // Damage (a checksum or tag that fails under a key the ring holds), or a key the ring lacks or has revoked
            // (a revocation with --accept-unreadable): either way this row cannot be rewritten, and the others still can.
            damage = ex;
            return null;
        }
    }

    /// <summary>Rows refused for lack of a key are looked at again once the key ring changed (a key put back may open them).</summary>
    private void ForgetRefusalsIfTheRingChanged()
    {
        string ring = string.Join(",", (payloads.KeyStates() ?? new Dictionary<string, Encryption.EncryptionKeyState>()).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}:{k.Value}"));
        if (ring == _ringSeen)
        {
            return;
        }

        _ringSeen = ring;
        _unopenable.ExceptWith(_refused);
        _refused.Clear();
    }

    private NpgsqlBatchCommand RewriteItem(StoredRow row)
    {
        (ItemRow now, StateChange change) = Reseal(row);
        var update = new NpgsqlBatchCommand($"""
            UPDATE {schema}.items SET body = {ClearBodies.Body(now, 1)}, sealed = $2, status = $3, tool = $4, created_key = $5, updated_key = $6, listed = $7
            WHERE kind = $8 AND id = $9 AND revision = $10 AND sealed IS NOT DISTINCT FROM $11 AND body IS NOT DISTINCT FROM $12::jsonb
            """);
        update.Parameters.Add(ClearBodies.Json(now.Body));
        update.Parameters.Add(Bytes(now.Sealed));
        TaskListingColumns.Add(update.Parameters, now, change.Item);
        AddWasSame(update.Parameters, row);
        return update;
    }

    private NpgsqlBatchCommand RewriteChange(StoredRow row)
    {
        (ItemRow now, _) = Reseal(row);
        var update = new NpgsqlBatchCommand($"""
            UPDATE {schema}.changes SET body = {ClearBodies.Body(now, 1)}, sealed = $2
            WHERE revision = $3 AND ordinal = $4 AND sealed IS NOT DISTINCT FROM $5 AND body IS NOT DISTINCT FROM $6::jsonb
            """);
        update.Parameters.Add(ClearBodies.Json(now.Body));
        update.Parameters.Add(Bytes(now.Sealed));
        update.Parameters.Add(new NpgsqlParameter { Value = row.Number, NpgsqlDbType = NpgsqlDbType.Bigint });
        update.Parameters.Add(new NpgsqlParameter { Value = row.Ordinal, NpgsqlDbType = NpgsqlDbType.Integer });
        update.Parameters.Add(Bytes(row.Sealed));
        update.Parameters.Add(ClearBodies.Json(row.Body));
        return update;
    }

    /// <summary>An item's or a change's row opened and written again as a store write of it would be now.</summary>
    private (ItemRow Row, StateChange Change) Reseal(StoredRow row)
    {
        StateChange change = rows.ToChange(new ItemRow(row.Kind, row.Id, row.Body, row.Sealed), row.Number);
        return (rows.ToRow(change), change);
    }

    private NpgsqlBatchCommand RewriteBlob(StoredRow row, PayloadKind kind, string key)
    {
        byte[] plain = payloads.Open(kind, row.Id, row.Sealed!, $"{rows.Location}/{row.Where}");
        var update = new NpgsqlBatchCommand($"UPDATE {schema}.{row.Table} SET payload = $1 WHERE payload = $2 AND {key}");
        update.Parameters.Add(Bytes(payloads.Seal(kind, row.Id, plain)));
        update.Parameters.Add(Bytes(row.Sealed));
        update.Parameters.Add(Text(row.Id));
        if (kind == PayloadKind.SessionLogAppend)
        {
            update.Parameters.Add(new NpgsqlParameter { Value = row.Number, NpgsqlDbType = NpgsqlDbType.Bigint });
        }

        return update;
    }

    /// <summary>The conditions that the item row is still what was read: its key, its revision and its bytes (<c>$8</c> to <c>$12</c>).</summary>
    private static void AddWasSame(NpgsqlParameterCollection parameters, StoredRow row)
    {
        parameters.Add(Text(row.Kind));
        parameters.Add(Text(row.Id));
        parameters.Add(new NpgsqlParameter { Value = row.Number, NpgsqlDbType = NpgsqlDbType.Bigint });
        parameters.Add(Bytes(row.Sealed));
        parameters.Add(ClearBodies.Json(row.Body));
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Bytes(byte[]? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea };

    /// <summary>
    /// A row as read: its table, kind and id (a log's session id, a report's id), its number (an item's or change's
    /// revision, a log row's segment), a change's ordinal, and its value.
    /// </summary>
    private readonly record struct StoredRow(string Table, string Kind, string Id, long Number, int Ordinal, byte[]? Body, byte[]? Sealed)
    {
        public string Where => Table switch
        {
            "items" => $"items/{Kind}/{Id}",
            "changes" => $"changes/{Number}/{Ordinal}",
            "session_logs" => $"session_logs/{Id}/{Number}",
            _ => $"reports/{Id}",
        };
    }
}
