using System.Collections.Concurrent;
using Npgsql;
using StatePersistence.Recovery;

namespace StatePersistence.Postgres;

public sealed partial class PostgresStateStore
{
    /// <summary>
    /// How many unreadable rows are remembered at most: each a health reason, so rows found beyond it are still raised
    /// (<see cref="DamageFound"/>, counted) at every read that meets them rather than never.
    /// </summary>
    internal const int MaxUnreadableRowsListed = 1000;

    // Report and session-log rows a read found it cannot open (damaged bytes, or a key or codec this instance lacks),
    // by their location, with the reason. A database has no aside: the row stays as it is, so it is listed here (health
    // Degraded, the unreadable-files gauge) until it opens, is replaced or is deleted, and its damage is raised once.
    private readonly ConcurrentDictionary<string, UnreadableRow> _unreadableRows = new(StringComparer.Ordinal);

    private EventHandler<QuarantinedFile>? _damageFound;

    /// <summary>A report (<see cref="Segment"/> null) or a session log's row that a read could not open.</summary>
    private sealed record UnreadableRow(string Id, long? Segment, string Reason);

    /// <summary>Lists the row at <paramref name="where"/>; true when it was not listed yet (or the list is full).</summary>
    private bool ListUnreadable(string where, string id, long? segment, string reason)
    {
        if (_unreadableRows.ContainsKey(where))
        {
            return false;
        }

        return _unreadableRows.Count >= MaxUnreadableRowsListed || _unreadableRows.TryAdd(where, new UnreadableRow(id, segment, reason));
    }

    /// <summary>A row at <paramref name="where"/> opened or was written anew: whatever stopped it before no longer does.</summary>
    private void Readable(string where)
    {
        if (!_unreadableRows.IsEmpty)
        {
            _unreadableRows.TryRemove(where, out _);
        }
    }

    /// <summary>
    /// The listed rows' reasons, after taking off those deleted or replaced since (one query, bounded by the list). A
    /// replaced report is taken off at its save; one replaced by another instance stays listed until it is read.
    /// </summary>
    private IReadOnlyList<string> UnreadableReasons(NpgsqlConnection connection)
    {
        if (_unreadableRows.IsEmpty)
        {
            return [];
        }

        KeyValuePair<string, UnreadableRow>[] listed = [.. _unreadableRows];
        using var command = new NpgsqlCommand($"""
            SELECT t.i FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(id, segment, i)
            WHERE (t.segment IS NULL AND NOT EXISTS (SELECT 1 FROM {_schema}.reports r WHERE r.id = t.id))
               OR (t.segment IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {_schema}.session_logs l WHERE l.session_id = t.id AND l.segment = t.segment))
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = listed.Select(r => r.Value.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = listed.Select(r => r.Value.Segment).ToArray() });
        using (NpgsqlDataReader gone = command.ExecuteReader())
        {
            while (gone.Read())
            {
                _unreadableRows.TryRemove(listed[gone.GetInt64(0) - 1].Key, out _);
            }
        }

        return [.. _unreadableRows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Reason)];
    }
}
