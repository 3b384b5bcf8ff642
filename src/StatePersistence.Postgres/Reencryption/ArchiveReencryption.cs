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
/// So is one whose entries cannot be opened for lack of the right key or codec (a key revoked since), named once by a
/// <see cref="Errors.StateStorageException"/> after the other archives are rewritten, and skipped while the key ring
/// stays as it was; before 2026-12-07 it stopped the step, and the archives after it were never rewritten.
/// </summary>
internal sealed class ArchiveReencryption(NpgsqlDataSource dataSource, string schema, StorePayloads payloads, string location, UnconfirmedRewrites unconfirmed)
{
    /// <summary>Archives that did not read back whole (damage), reported once and skipped by later steps.</summary>
    private readonly HashSet<string> _damaged = new(StringComparer.Ordinal);

    /// <summary>Archives refused for lack of the right key or codec, skipped while the key ring stays <see cref="_ringSeen"/>.</summary>
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    private string _ringSeen = "";

    /// <summary>Rewrites up to <paramref name="maxArchives"/> archives under <paramref name="target"/> (the clear when null).</summary>
    public async Task<ArchiveResealing> StepAsync(string? target, int maxArchives, CancellationToken cancellationToken)
    {
        string ring = string.Join(",", (payloads.KeyStates() ?? new Dictionary<string, Encryption.EncryptionKeyState>()).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}:{k.Value}"));
        if (ring != _ringSeen)
        {
            // A key put back into the key file may open them now.
            _ringSeen = ring;
            _refused.Clear();
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The names first, then one archive at a time: a step holds one archive in memory, not its whole budget of them.
        var stale = new List<string>();
        if (maxArchives > 0)
        {
            await using var list = new NpgsqlCommand(
                $"SELECT name FROM {schema}.task_archives WHERE key_id IS DISTINCT FROM $1 AND NOT (name = ANY($2)) ORDER BY name COLLATE \"C\" LIMIT $3",
                connection);
            list.Parameters.Add(Target(target));
            list.Parameters.Add(new NpgsqlParameter { Value = _damaged.Concat(_refused).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            list.Parameters.Add(new NpgsqlParameter { Value = maxArchives, NpgsqlDbType = NpgsqlDbType.Integer });
            await using NpgsqlDataReader reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stale.Add(reader.GetString(0));
            }
        }

        int rewritten = 0;
        var damaged = new List<(string Where, string Problem)>();
        var damagedNames = new List<string>();
        var refused = new List<(string Where, Errors.StateFormatException Refusal)>();
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
                damagedNames.Add(name);
                damaged.Add((where, ex.Message));
                continue;
            }
            catch (Errors.StateFormatException ex)
            {
                _refused.Add(name);
                refused.Add((where, ex));
                continue;
            }

            await using var update = new NpgsqlCommand(
                $"UPDATE {schema}.task_archives SET content = $1, key_id = $2 WHERE name = $3 AND xmin = $4", connection);
            update.Parameters.Add(new NpgsqlParameter { Value = resealed, NpgsqlDbType = NpgsqlDbType.Bytea });
            update.Parameters.Add(Target(target));
            update.Parameters.Add(new NpgsqlParameter { Value = name, NpgsqlDbType = NpgsqlDbType.Text });
            update.Parameters.Add(new NpgsqlParameter { Value = version, NpgsqlDbType = NpgsqlDbType.Xid });
            // Watched: a rewrite the synchronous standby did not confirm fails the step, not counted (UnconfirmedRewrites).
            int updated = 0;
            await unconfirmed.CommitAsync(connection, 1, async () => updated = await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            rewritten += updated;
        }

        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {schema}.task_archives WHERE key_id IS DISTINCT FROM $1", connection);
        count.Parameters.Add(Target(target));
        int remaining = (int)Math.Min(int.MaxValue, (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
        if (refused.Count > 0)
        {
            // The damaged ones of this step are reported by the next, which the exception does not keep from running.
            _damaged.ExceptWith(damagedNames);
            throw new Errors.StateStorageException(
                $"The re-encryption left {refused.Count} task archive(s) as they are, because they cannot be opened for lack of the right key or codec: {string.Join(", ", refused.Select(r => $"'{r.Where}'"))} " +
                $"(the first: {refused[0].Refusal.Message}). They stay under their key, counted as remaining; the other archives were rewritten.",
                refused[0].Where, refused[0].Refusal, isTransient: false);
        }

        return new ArchiveResealing(rewritten, remaining, damaged);
    }

    private static NpgsqlParameter Target(string? target) => new() { Value = (object?)target ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}

/// <summary>What one step did to the task archives: those rewritten, those still not under the target, and those found damaged (where, and what is wrong).</summary>
internal sealed record ArchiveResealing(int Rewritten, int Remaining, IReadOnlyList<(string Path, string Problem)> Damaged);
