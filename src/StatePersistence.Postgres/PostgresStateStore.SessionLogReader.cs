using Npgsql;
using NpgsqlTypes;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>A session log read a row (an append) at a time, to be sent in bounded memory.</summary>
public sealed partial class PostgresStateStore
{
    /// <summary>How much text lies between two checkpoints: a ranged read reads (and verifies) at most this much before its range.</summary>
    private const long LogCheckpointEvery = 1 << 20;

    /// <inheritdoc />
    /// <remarks>
    /// Opening reads every row of the log once (each opened, so verified) to count the text; the log as opened is
    /// its rows up to the last segment then. A copy reads the rows from the checkpoint before its range again.
    /// </remarks>
    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Guarded("read the log of session " + StateId.Quote(sessionId), async () =>
        {
            StateId.Validate(sessionId, "session");
            var reader = new SessionLogReader(this, sessionId);
            return await reader.ScanAsync(cancellationToken).ConfigureAwait(false) ? reader : (ISessionLogReader?)null;
        });

    /// <summary>The rows of a session's log from segment <paramref name="from"/> to <paramref name="to"/>, in order, each opened.</summary>
    private async IAsyncEnumerable<(long Segment, byte[] Text)> LogRowsAsync(string sessionId, long from, long to,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            $"SELECT segment, payload FROM {_schema}.session_logs WHERE session_id = $1 AND segment >= $2 AND segment <= $3 ORDER BY segment", connection);
        command.Parameters.Add(Text(sessionId));
        command.Parameters.Add(new NpgsqlParameter { Value = from, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = to, NpgsqlDbType = NpgsqlDbType.Bigint });
        await using NpgsqlDataReader rows = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long segment = rows.GetInt64(0);
            yield return (segment, Open(PayloadKind.SessionLogAppend, sessionId, rows.GetFieldValue<byte[]>(1), $"{Location}/logs/{sessionId}/{segment}"));
        }
    }

    private sealed class SessionLogReader(PostgresStateStore store, string sessionId) : ISessionLogReader
    {
        private readonly List<(long Segment, long Text)> _checkpoints = [];
        private long _lastSegment;

        public long Length { get; private set; }

        /// <summary>Counts the text and keeps the checkpoints; false when the log has no rows.</summary>
        public async ValueTask<bool> ScanAsync(CancellationToken cancellationToken)
        {
            long text = 0;
            long next = 0;
            await foreach ((long segment, byte[] append) in store.LogRowsAsync(sessionId, long.MinValue, long.MaxValue, cancellationToken).ConfigureAwait(false))
            {
                if (text >= next)
                {
                    _checkpoints.Add((segment, text));
                    next = text + LogCheckpointEvery;
                }

                text += append.Length;
                _lastSegment = segment;
            }

            Length = text;
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
            await foreach ((long segment, byte[] append) in store.LogRowsAsync(sessionId, _checkpoints[checkpoint].Segment, _lastSegment, cancellationToken)
                .ConfigureAwait(false))
            {
                // A row that was not there when the log was opened (committed since, under a lower segment) or one gone
                // since would shift the text: the checkpoints, counted when it was opened, catch it.
                if (nextCheckpoint < _checkpoints.Count && _checkpoints[nextCheckpoint].Segment == segment)
                {
                    if (_checkpoints[nextCheckpoint].Text != text)
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

            throw Changed(_lastSegment);
        }

        private Errors.StateStorageException Changed(long segment) =>
            new($"The log of session '{sessionId}' in '{store.Location}' changed at segment {segment} while it was being read: its rows no longer "
                + "hold the text counted when it was opened. The text sent is incomplete; read it again.", $"{store.Location}/logs/{sessionId}/{segment}", null);
    }
}
