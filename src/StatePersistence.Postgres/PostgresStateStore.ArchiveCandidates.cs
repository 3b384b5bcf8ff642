using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres;

/// <summary>
/// The load of <c>statectl archive</c>: the tasks a task archive run may choose, read by the listing columns, instead of
/// every live task (see <see cref="ArchiveCandidatesBefore"/>).
/// </summary>
public sealed partial class PostgresStateStore
{
    /// <summary>
    /// When set, a load (the open, a reload) keeps of the tasks only those a task archive run with this cut may choose
    /// (completed or failed, finished or updated before it, read by the indexed listing columns) and every session:
    /// what <c>statectl archive</c> opens, so that its memory grows with the tasks it may archive and not with every
    /// live task. The other tasks are absent from the state of a service over it: it serves that run and nothing else.
    /// </summary>
    internal DateTimeOffset? ArchiveCandidatesBefore { get; init; }

    /// <summary>
    /// The read of the items a load keeps: every row, or with <see cref="ArchiveCandidatesBefore"/> the sessions, the
    /// application's properties and the tasks an archive run may choose (see there).
    /// </summary>
    private NpgsqlCommand ItemsToLoad(NpgsqlConnection connection, NpgsqlTransaction snapshot)
    {
        string read = $"SELECT kind, id, revision, body::text, sealed, listed FROM {_schema}.items";
        if (ArchiveCandidatesBefore is not { } before)
        {
            return new NpgsqlCommand(read, connection, snapshot);
        }

        // A superset of the archiver's choice, which it then makes on what was loaded: completed or failed (the indexed
        // status) and, by the time the archiver reads, not provably after the cut. A completed_at written in UTC (as
        // this library writes one: '2026-12-06T13:24:25.1234567+00:00', or 'Z') is after it when its second is after
        // the cut's, compared as text (no parse that could fail on a row written by hand); one at another offset, or in
        // another form, is loaded. Without a completed_at (absent or null), updated_key decides: the UTC ticks of
        // updated_at, the least long when there is none. Every task whose columns are not filled (a row sealed by a
        // codec, or written before version 2) is loaded, as its status cannot be read here.
        var command = new NpgsqlCommand(read + """
             WHERE kind <> 'task' OR NOT listed
                OR (status IN ('completed', 'failed') AND CASE
                    WHEN jsonb_typeof(body -> 'completed_at') IS DISTINCT FROM 'null' AND body ? 'completed_at'
                        THEN NOT (body ->> 'completed_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$'
                                  AND left(body ->> 'completed_at', 19) COLLATE "C" > $2 COLLATE "C")
                    ELSE updated_key < $1 END)
            """, connection, snapshot);
        command.Parameters.Add(new NpgsqlParameter { Value = before.UtcTicks, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = before.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            NpgsqlDbType = NpgsqlDbType.Text,
        });
        return command;
    }
}
