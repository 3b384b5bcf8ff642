using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using StatePersistence.Recovery;

namespace StatePersistence.Postgres;

public sealed partial class PostgresStateStore
{
    /// <summary>How many unreadable rows are remembered at most, each a health reason (see <see cref="RaisedUnlisted"/> for those beyond).</summary>
    internal const int MaxUnreadableRowsListed = 1000;

    /// <summary>
    /// How many damaged rows the full list could not take are remembered as raised, by an 8-byte hash each (under 3 MB):
    /// each is raised and counted once, not at every read that meets it. Beyond these too, a damaged row is no longer
    /// raised (the read still fails naming it); by then a hundred thousand rows were.
    /// </summary>
    internal const int MaxUnlistedRowsRaised = 100_000;

    // Report and session-log rows a read found it cannot open (damaged bytes, or a key or codec this instance lacks),
    // by their location, with the version read (xmin) and the reason. A database has no aside: the row stays as it is,
    // so it is listed here (health Degraded, the unreadable-files gauge) until it opens, is replaced or is deleted, and
    // its damage is raised once.
    private readonly ConcurrentDictionary<string, UnreadableRow> _unreadableRows = new(StringComparer.Ordinal);

    // The damaged row versions raised while the list was full (a hash of location and version each; see RaisedUnlisted).
    private readonly HashSet<ulong> _raisedUnlisted = [];

    private EventHandler<QuarantinedFile>? _damageFound;

    /// <summary>A report (<see cref="Segment"/> null) or a session log's row, at <see cref="Version"/> (its xmin), that a read could not open.</summary>
    private sealed record UnreadableRow(string Id, long? Segment, uint Version, string Reason);

    /// <summary>
    /// Lists the row at <paramref name="where"/>, as read at <paramref name="version"/>; true when this version of it
    /// was not listed or raised yet, so its damage is to be raised. Another version listed (the row written since by
    /// another instance, or by hand) is replaced: it is other bytes, damaged anew.
    /// </summary>
    private bool ListUnreadable(string where, string id, long? segment, uint version, string reason)
    {
        var row = new UnreadableRow(id, segment, version, reason);
        while (true)
        {
            if (_unreadableRows.TryGetValue(where, out UnreadableRow? listed))
            {
                if (listed.Version == version)
                {
                    return false;
                }

                if (_unreadableRows.TryUpdate(where, row, listed))
                {
                    return true;
                }
            }
            else if (_unreadableRows.Count >= MaxUnreadableRowsListed)
            {
                return RaisedUnlisted(where, version, remember: true);
            }
            else if (_unreadableRows.TryAdd(where, row))
            {
                // Raised already while the list was full: listed now, not raised again.
                return !RaisedUnlisted(where, version, remember: false);
            }
        }
    }

    /// <summary>
    /// With <paramref name="remember"/>: true the first time this version of a row that could not be listed is met
    /// (up to <see cref="MaxUnlistedRowsRaised"/> of them), so its damage is raised once. Without: true when it had
    /// been met so (and forgets it, as it is listed now).
    /// </summary>
    private bool RaisedUnlisted(string where, uint version, bool remember)
    {
        ulong hash = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{version}@{where}")));
        lock (_raisedUnlisted)
        {
            if (!remember)
            {
                return _raisedUnlisted.Remove(hash);
            }

            return _raisedUnlisted.Count < MaxUnlistedRowsRaised && _raisedUnlisted.Add(hash);
        }
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
    /// The listed rows' reasons, after taking off those deleted or written since (one query, bounded by the list, by
    /// the primary key and each row's xmin, reading no payload): a row saved anew by another instance, or changed by
    /// hand, is no longer the row found unreadable, and is judged again at its next read.
    /// </summary>
    private IReadOnlyList<string> UnreadableReasons(NpgsqlConnection connection)
    {
        if (_unreadableRows.IsEmpty)
        {
            return [];
        }

        KeyValuePair<string, UnreadableRow>[] listed = [.. _unreadableRows];
        using var command = new NpgsqlCommand($"""
            SELECT t.i FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS t(id, segment, version, i)
            WHERE (t.segment IS NULL AND NOT EXISTS (SELECT 1 FROM {_schema}.reports r WHERE r.id = t.id AND r.xmin::text::bigint = t.version))
               OR (t.segment IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {_schema}.session_logs l
                   WHERE l.session_id = t.id AND l.segment = t.segment AND l.xmin::text::bigint = t.version))
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = listed.Select(r => r.Value.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = listed.Select(r => r.Value.Segment).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = listed.Select(r => (long)r.Value.Version).ToArray() });
        using (NpgsqlDataReader gone = command.ExecuteReader())
        {
            while (gone.Read())
            {
                // Only the version found unreadable: one listed anew by a read since stays for the next check.
                KeyValuePair<string, UnreadableRow> row = listed[gone.GetInt64(0) - 1];
                _unreadableRows.TryRemove(row);
            }
        }

        return [.. _unreadableRows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Reason)];
    }
}
