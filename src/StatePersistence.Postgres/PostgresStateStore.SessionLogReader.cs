using Npgsql;
using NpgsqlTypes;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>A session log read a page of rows (appends, up to a MiB of text) at a time, to be sent in bounded memory.</summary>
public sealed partial class PostgresStateStore
{
    /// <summary>How much text lies between two checkpoints: a ranged read reads (and verifies) at most this much before its range.</summary>
    private const long LogCheckpointEvery = 1 << 20;

    /// <summary>How many logs' <see cref="LogScanMark"/> this instance keeps (the logs read last); one more evicts another.</summary>
    internal const int LogMarksKept = 256;

    private readonly Dictionary<string, LogScanMark> _logMarks = new(StringComparer.Ordinal);

    /// <inheritdoc />
    /// <remarks>
    /// Opening reads every row of the log once (each opened, so verified) to count the text; the log as opened is
    /// its rows up to the last segment then. The next open of the same log on this instance reads only the rows
    /// after the last one counted, once a count of the rows up to it shows none came in below it (a row committed
    /// under a segment taken earlier, after later ones: an append of an instance of a build before 2026-12-07, which
    /// took no lock, or a row inserted by hand; appends now commit in segment order) and none went. A copy reads the
    /// rows from the checkpoint before its range again.
    /// </remarks>
    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Guarded("read the log of session " + StateId.Quote(sessionId), async () =>
        {
            StateId.Validate(sessionId, "session");
            var reader = new SessionLogReader(this, sessionId);
            LogScanMark? mark;
            lock (_logMarks)
            {
                mark = _logMarks.GetValueOrDefault(sessionId);
            }

            if (mark is not null && await LogRowsUpToAsync(sessionId, mark.LastSegment, cancellationToken).ConfigureAwait(false) != mark.Rows)
            {
                mark = null;
            }

            if (!await reader.ScanAsync(mark, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            lock (_logMarks)
            {
                if (_logMarks.Count >= LogMarksKept && !_logMarks.ContainsKey(sessionId))
                {
                    _logMarks.Remove(_logMarks.Keys.First());
                }

                _logMarks[sessionId] = reader.Mark;
            }

            return (ISessionLogReader?)reader;
        });

    /// <summary>How many rows the log has up to <paramref name="segment"/>: from the primary key, without their payloads.</summary>
    private async Task<long> LogRowsUpToAsync(string sessionId, long segment, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {_schema}.session_logs WHERE session_id = $1 AND segment <= $2", connection);
        command.Parameters.Add(Text(sessionId));
        command.Parameters.Add(new NpgsqlParameter { Value = segment, NpgsqlDbType = NpgsqlDbType.Bigint });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Where a scan of a log ended: its last segment, the rows up to it, the text counted and the checkpoints. Rows are
    /// added to a log, or its oldest deleted by the retention cap (a re-encryption rewrites a row's payload, not its
    /// text), so the rows up to the last segment, counted again, tell whether the text up to it is still the text counted.
    /// </summary>
    private sealed record LogScanMark(long LastSegment, long Rows, long Text, long NextCheckpoint, (long Segment, long Text)[] Checkpoints);

    /// <summary>The rows of a session's log from segment <paramref name="from"/> to <paramref name="to"/>, in order, each opened.</summary>
    private async IAsyncEnumerable<(long Segment, byte[] Text)> LogRowsAsync(string sessionId, long from, long to,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlCommand command = LogRowsQuery(connection, $"""
            SELECT segment, payload, xmin FROM {_schema}.session_logs WHERE session_id = $1 AND segment >= $2 AND segment <= $3 ORDER BY segment
            """, sessionId, from, to);
        await using NpgsqlDataReader rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return OpenLogRow(rows, sessionId);
        }
    }

    /// <summary>
    /// <paramref name="sql"/>, a read of a log's rows as (segment, payload, xmin), with its parameters: $1 the session,
    /// $2 and $3 the first and last segment.
    /// </summary>
    private static NpgsqlCommand LogRowsQuery(NpgsqlConnection connection, string sql, string sessionId, long from, long to)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(Text(sessionId));
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.Bigint });
        return command;
    }

    /// <summary>The log row <paramref name="rows"/> is at, (segment, payload, xmin), opened as <see cref="Open"/> opens it.</summary>
    private (long Segment, byte[] Text) OpenLogRow(NpgsqlDataReader rows, string sessionId)
    {
        long segment = rows.GetInt64(0);
        return (segment, Open(PayloadKind.SessionLogAppend, sessionId, rows.GetFieldValue<byte[]>(1), $"{Location}/logs/{sessionId}/{segment}",
            rows.GetFieldValue<uint>(2), segment));
    }

    /// <summary>How many stored bytes a copy reads in one query before it writes them out (the page's last row may pass it): the copy holds this much, and no connection while it writes.</summary>
    private const long LogPageBytes = 1 << 20;

    /// <summary>The most rows one query of a copy reads.</summary>
    private const int LogPageRows = 256;

    /// <summary>
    /// The rows of a session's log from segment <paramref name="from"/> to <paramref name="to"/>, in order, each opened,
    /// as long as the rows before hold less than <see cref="LogPageBytes"/> as stored: read on a connection given back to the pool before they are
    /// returned, so a copy waiting for a slow client holds none.
    /// </summary>
    private async Task<List<(long Segment, byte[] Text)>> LogPageAsync(string sessionId, long from, long to, CancellationToken cancellationToken)
    {
        var page = new List<(long Segment, byte[] Text)>();
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The page is cut by the database, by the stored sizes (octet_length reads no payload): a reader left with rows
        // unread would have them all sent to it and dropped when it is disposed, appends of megabytes each.
        await using NpgsqlCommand command = LogRowsQuery(connection, $"""
            SELECT segment, payload, xmin FROM (
                SELECT segment, payload, xmin, sum(octet_length(payload)) OVER (ORDER BY segment) - octet_length(payload) AS before
                FROM {_schema}.session_logs WHERE session_id = $1 AND segment >= $2 AND segment <= $3 ORDER BY segment LIMIT {LogPageRows}) AS page
            WHERE before < {LogPageBytes} ORDER BY segment
            """, sessionId, from, to);
        await using NpgsqlDataReader rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            (long Segment, byte[] Text) row;
            try
            {
                row = OpenLogRow(rows, sessionId);
            }
            catch (Exception) when (page.Count > 0)
            {
                // The text before a row that does not open is sent first, then the next page, starting at it, fails.
                break;
            }

            page.Add(row);
        }

        return page;
    }

    private sealed class SessionLogReader(PostgresStateStore store, string sessionId) : ISessionLogReader
    {
        private readonly List<(long Segment, long Text)> _checkpoints = [];
        private long _lastSegment;

        public long Length { get; private set; }

        /// <summary>Where this reader's scan ended (see <see cref="LogScanMark"/>).</summary>
        public LogScanMark Mark { get; private set; } = null!;

        /// <summary>
        /// Counts the text and keeps the checkpoints, from where <paramref name="from"/> ended when it is given (its
        /// rows checked by the caller), else from the first row; false when the log has no rows.
        /// </summary>
        public async ValueTask<bool> ScanAsync(LogScanMark? from, CancellationToken cancellationToken)
        {
            long text = from?.Text ?? 0;
            long next = from?.NextCheckpoint ?? 0;
            long rows = from?.Rows ?? 0;
            _lastSegment = from?.LastSegment ?? 0;
            _checkpoints.AddRange(from?.Checkpoints ?? []);
            long after = from is null ? long.MinValue : from.LastSegment + 1;
            await foreach ((long segment, byte[] append) in store.LogRowsAsync(sessionId, after, long.MaxValue, cancellationToken).ConfigureAwait(false))
            {
                if (text >= next)
                {
                    _checkpoints.Add((segment, text));
                    next = text + LogCheckpointEvery;
                }

                text += append.Length;
                rows++;
                _lastSegment = segment;
            }

            Length = text;
            Mark = new LogScanMark(_lastSegment, rows, text, next, [.. _checkpoints]);
            return _checkpoints.Count > 0;
        }

        public async ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(destination);
            if (offset < 0 || offset > Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset,
                    $"The log of session '{sessionId}' holds {Length} bytes of text: offset {offset} is outside 0..{Length}.");
            }

            if (count < 0 || count > Length - offset)
            {
                throw new ArgumentOutOfRangeException(nameof(count), count,
                    $"The log of session '{sessionId}' holds {Length} bytes of text: {count} bytes from offset {offset} is more than the {Length - offset} there are.");
            }

            if (count == 0)
            {
                return;
            }

            await store.Guarded("read the log of session " + StateId.Quote(sessionId), async () =>
            {
                await CopyRowsAsync(destination, offset, offset + count, cancellationToken).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private async Task CopyRowsAsync(Stream destination, long from, long end, CancellationToken cancellationToken)
        {
            int checkpoint = _checkpoints.FindLastIndex(c => c.Text <= from);
            long text = _checkpoints[checkpoint].Text;
            int nextCheckpoint = checkpoint;
            // A page at a time (LogPageAsync): a query kept open while the destination, a client at its own pace,
            // takes the text kept a connection of the pool as long, and a few slow clients took every read's.
            for (long next = _checkpoints[checkpoint].Segment; next <= _lastSegment;)
            {
                List<(long Segment, byte[] Text)> page = await store.LogPageAsync(sessionId, next, _lastSegment, cancellationToken).ConfigureAwait(false);
                if (page.Count == 0)
                {
                    break;
                }

                next = page[^1].Segment + 1;
                foreach ((long segment, byte[] append) in page)
                {
                    // A row that was not there when the log was opened (committed since, under a lower segment) or one gone
                    // since would shift the text: the checkpoints, counted when it was opened, catch it. A checkpoint's own
                    // row gone (a cap cuts a log from its oldest row, the checkpoint the copy starts from among them) is a
                    // checkpoint passed unseen: the text from here is not at the offsets counted, so it is a change too.
                    while (nextCheckpoint < _checkpoints.Count && _checkpoints[nextCheckpoint].Segment <= segment)
                    {
                        if (_checkpoints[nextCheckpoint].Segment != segment || _checkpoints[nextCheckpoint].Text != text)
                        {
                            throw Changed(segment);
                        }

                        nextCheckpoint++;
                    }

                    long first = Math.Max(from, text);
                    long last = Math.Min(end, text + append.Length);
                    if (last > first)
                    {
                        await destination.WriteAsync(append.AsMemory((int)(first - text), (int)(last - first)), cancellationToken).ConfigureAwait(false);
                    }

                    text += append.Length;
                    if (text >= end)
                    {
                        return;
                    }
                }
            }

            throw Changed(_lastSegment);
        }

        private Errors.StateStorageException Changed(long segment) =>
            new($"The log of session '{sessionId}' in '{store.Location}' changed at segment {segment} while it was being read: its rows no longer "
                + "hold the text counted when it was opened. The text sent is incomplete; read it again.", $"{store.Location}/logs/{sessionId}/{segment}", null);
    }
}
