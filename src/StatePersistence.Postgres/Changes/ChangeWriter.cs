using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// Commits groups of changes atomically: every change of a group in one transaction, sent as one batch (one round
/// trip), and the transaction rolled back when any change found its item not as expected.
/// </summary>
internal sealed class ChangeWriter(NpgsqlDataSource dataSource, string schema)
{
    private readonly ChangeSql _sql = new(schema);

    /// <summary>Commits <paramref name="group"/>, or nothing of it when an item conflicts.</summary>
    public async Task<WriteOutcome> AppendAsync(IReadOnlyList<ItemWrite> group, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        GroupResult result = await AppendAsync(connection, transaction, group, cancellationToken).ConfigureAwait(false);
        if (result.Conflicted.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new WriteOutcome(result.Revisions, []);
        }

        // Rolled back first, so each conflict carries the item as committed, not as this group's later changes left it.
        await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        var conflicts = new List<WriteConflict>(result.Conflicted.Count);
        foreach (ItemWrite write in result.Conflicted)
        {
            conflicts.Add(await CurrentAsync(connection, null, write, cancellationToken).ConfigureAwait(false));
        }

        return new WriteOutcome([], conflicts);
    }

    /// <summary>
    /// Writes <paramref name="group"/> in the caller's transaction, which the caller commits when nothing conflicted
    /// and must roll back otherwise (changes before and after the conflicting one were written).
    /// </summary>
    public async Task<GroupResult> AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ItemWrite> group,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (ItemWrite write in group)
        {
            var command = new NpgsqlBatchCommand(_sql.For(write));
            command.Parameters.Add(new NpgsqlParameter { Value = write.Kind, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = write.Id, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)write.Body ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            if (write.Expected.Value > 0)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = write.Expected.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            }

            batch.BatchCommands.Add(command);
        }

        // Delivered to listeners only when (and if) the transaction commits: wakes other instances' feed readers.
        var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, '')");
        notify.Parameters.Add(new NpgsqlParameter { Value = ChangeFeed.Channel(schema), NpgsqlDbType = NpgsqlDbType.Text });
        batch.BatchCommands.Add(notify);

        var revisions = new long[group.Count];
        var conflicted = new List<ItemWrite>();
        await using (NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            for (int i = 0; i < group.Count; i++)
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    revisions[i] = reader.GetInt64(0);
                }
                else
                {
                    conflicted.Add(group[i]);
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return new GroupResult(revisions, conflicted);
    }

    /// <summary>An item as it is now (revision and JSON), or null when it does not exist.</summary>
    public async Task<(long Revision, string Body)?> LoadAsync(string kind, string id, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        WriteConflict current = await CurrentAsync(connection, null, new ItemWrite(kind, id, ExpectedRevision.Any, null), cancellationToken)
            .ConfigureAwait(false);
        return current.Revision is { } revision ? (revision, current.Body!) : null;
    }

    private async Task<WriteConflict> CurrentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, ItemWrite write,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(_sql.Current, connection, transaction);
        command.Parameters.AddWithValue(write.Kind);
        command.Parameters.AddWithValue(write.Id);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new WriteConflict(write.Kind, write.Id, write.Expected, reader.GetInt64(0), reader.GetString(1))
            : new WriteConflict(write.Kind, write.Id, write.Expected, null, null);
    }
}

/// <summary>What a group wrote in a transaction: the revision of each change, and the changes whose item was not as expected.</summary>
internal sealed record GroupResult(IReadOnlyList<long> Revisions, IReadOnlyList<ItemWrite> Conflicted);
