using Npgsql;
using NpgsqlTypes;
using StatePersistence.FileStore.Operations;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Reencryption;

/// <summary>
/// The background re-encryption's side of the task archives (<c>task_archives</c>): an archive whose <c>key_id</c> is
/// not the target is read, checked whole, every entry opened and sealed again (<see cref="TaskArchives.Reseal"/>), and
/// written back by one <c>UPDATE</c> that applies only while the row is still the one read (its <c>xmin</c>), so a stop
/// at any point leaves it whole under its old key or the new one. A damaged archive is left as it is, reported once
/// (<see cref="ReencryptionStep.Damaged"/>, as the file store reports a damaged archive file), and counted as remaining.
/// </summary>
internal sealed class ArchiveReencryption(NpgsqlDataSource dataSource, string schema, StorePayloads payloads, string location)
{
    /// <summary>Archives that did not read back whole (damage), reported once and skipped by later steps.</summary>
    private readonly HashSet<string> _damaged = new(StringComparer.Ordinal);

    /// <summary>Rewrites up to <paramref name="maxArchives"/> archives under <paramref name="target"/> (the clear when null).</summary>
    public async Task<ArchiveResealing> StepAsync(string? target, int maxArchives, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The names first, then one archive at a time: a step holds one archive in memory, not its whole budget of them.
        var stale = new List<string>();
        if (maxArchives > 0)
        {
            await using var list = new NpgsqlCommand(
                $"SELECT name FROM {schema}.task_archives WHERE key_id IS DISTINCT FROM $1 AND NOT (name = ANY($2)) ORDER BY name COLLATE \"C\" LIMIT $3",
                connection);
            list.Parameters.Add(Target(target));
            list.Parameters.Add(new NpgsqlParameter { Value = _damaged.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            list.Parameters.Add(new NpgsqlParameter { Value = maxArchives, NpgsqlDbType = NpgsqlDbType.Integer });
            await using NpgsqlDataReader reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stale.Add(reader.GetString(0));
            }
        }

        int rewritten = 0;
        var damaged = new List<(string Where, string Problem)>();
        foreach (string name in stale)
        {
            byte[] content;
            uint version;
            await using (var read = new NpgsqlCommand($"SELECT content, xmin FROM {schema}.task_archives WHERE name = $1 AND key_id IS DISTINCT FROM $2", connection))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = name, NpgsqlDbType = NpgsqlDbType.Text });
                read.Parameters.Add(Target(target));
                await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    continue; // resealed by another instance meanwhile
                }

                (content, version) = (reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<uint>(1));
            }

            string where = $"{location}/task_archives/{name}";
            byte[] resealed;
            try
            {
                resealed = TaskArchives.Reseal(content, payloads, where);
            }
            catch (InvalidDataException ex)
            {
                _damaged.Add(name);
                damaged.Add((where, ex.Message));
                continue;
            }

            await using var update = new NpgsqlCommand(
                $"UPDATE {schema}.task_archives SET content = $1, key_id = $2 WHERE name = $3 AND xmin = $4", connection);
            update.Parameters.Add(new NpgsqlParameter { Value = resealed, NpgsqlDbType = NpgsqlDbType.Bytea });
            update.Parameters.Add(Target(target));
            update.Parameters.Add(new NpgsqlParameter { Value = name, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Xid });
            rewritten += await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {schema}.task_archives WHERE key_id IS DISTINCT FROM $1", connection);
        count.Parameters.Add(Target(target));
        int remaining = (int)Math.Min(int.MaxValue, (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
        return new ArchiveResealing(rewritten, remaining, damaged);
    }

    private static NpgsqlParameter Target(string? target) => new() { Value = (object?)target ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}

/// <summary>What one step did to the task archives: those rewritten, those still not under the target, and those found damaged (where, and what is wrong).</summary>
internal sealed record ArchiveResealing(int Rewritten, int Remaining, IReadOnlyList<(string Path, string Problem)> Damaged);
