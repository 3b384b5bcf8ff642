using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The write-ahead log a PostgreSQL case makes per save: the log between the flush positions read just before and
/// just after each of the case's rounds, read back with <c>pg_walinspect</c> (PostgreSQL 15 and later; the extension
/// is created on first use), divided by the saves the case ran in those rounds. Unlike a rate, it does not move with
/// the machine's load: it is what each save costs the server in bytes (what every commit's flush writes), records
/// (one per heap tuple and per index entry written, and the commit's) and full-page images. The log is the whole
/// server's, so besides the case's saves it holds whatever else ran then (autovacuum, the case's own feed reader);
/// no other case runs during a round. Not <c>pg_stat_wal</c>: backends add to it about once a second, so a round's
/// end would miss up to a second of its own log and the next case's round would be charged for it.
/// </summary>
internal sealed class WalPerSave(NpgsqlDataSource dataSource)
{
    private long _saves;
    private long _savesAtStart;
    private NpgsqlLogSequenceNumber? _start;
    private long _windowSaves;
    private decimal _bytes;
    private long _records;
    private long _indexRecords;
    private long _fullPageBytes;
    private string? _unavailable;
    private bool _extension;

    /// <summary>Counts one save (called by the case's writers, concurrently).</summary>
    public void Saved() => Interlocked.Increment(ref _saves);

    public void RoundStarting()
    {
        _savesAtStart = Interlocked.Read(ref _saves);
        _start = Guarded(FlushPosition);
    }

    public void RoundEnded()
    {
        if (_start is not { } start || Guarded(FlushPosition) is not { } end)
        {
            return;
        }

        long saves = Interlocked.Read(ref _saves) - _savesAtStart;
        _start = null;
        if (end <= start)
        {
            // Nothing was flushed in the round (pg_get_wal_stats refuses an empty range): no save of a case with
            // synchronous commits returned in it, so it adds nothing to either side of the figure.
            return;
        }

        if (Guarded(() => Between(start, end)) is { } log)
        {
            _bytes += log.Bytes;
            _records += log.Records;
            _indexRecords += log.IndexRecords;
            _fullPageBytes += log.FullPageBytes;
            _windowSaves += saves;
        }
    }

    /// <summary>For the case's note: WAL bytes, records (index entries among them) and full-page images per save.</summary>
    public string Describe() => _unavailable is { } why ? $"WAL per save not measured: {why}"
        : _windowSaves == 0 ? "WAL per save not measured: no saves in the rounds"
        : string.Create(CultureInfo.InvariantCulture,
            $"WAL per save: {_bytes / _windowSaves:N0} B, {(double)_records / _windowSaves:F1} records ({(double)_indexRecords / _windowSaves:F1} of them index entries), {(double)_fullPageBytes / _windowSaves:N0} B of full-page images");

    /// <summary>The log between two positions: its bytes, its records, the index entries among them, its full-page images' bytes.</summary>
    private (decimal Bytes, long Records, long IndexRecords, long FullPageBytes) Between(NpgsqlLogSequenceNumber start, NpgsqlLogSequenceNumber end)
    {
        // The first column is renamed by position: PostgreSQL 15 calls it "resource_manager/record_type", 16 "resource_manager".
        using NpgsqlCommand stats = dataSource.CreateCommand("""
            SELECT pg_wal_lsn_diff($2, $1), coalesce(sum(count), 0)::bigint,
                   coalesce(sum(count) FILTER (WHERE rm = 'Btree'), 0)::bigint, coalesce(sum(fpi_size), 0)::bigint
            FROM pg_get_wal_stats($1, $2) AS s(rm)
            """);
        stats.Parameters.Add(new NpgsqlParameter { Value = start, NpgsqlDbType = NpgsqlDbType.PgLsn });
        stats.Parameters.Add(new NpgsqlParameter { Value = end, NpgsqlDbType = NpgsqlDbType.PgLsn });
        using NpgsqlDataReader reader = stats.ExecuteReader();
        reader.Read();
        return (reader.GetDecimal(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private NpgsqlLogSequenceNumber FlushPosition()
    {
        if (!_extension)
        {
            using NpgsqlCommand create = dataSource.CreateCommand("CREATE EXTENSION IF NOT EXISTS pg_walinspect");
            create.ExecuteNonQuery();
            _extension = true;
        }

        using NpgsqlCommand read = dataSource.CreateCommand("SELECT pg_current_wal_flush_lsn()");
        return (NpgsqlLogSequenceNumber)read.ExecuteScalar()!;
    }

    private T? Guarded<T>(Func<T> read) where T : struct
    {
        if (_unavailable is not null)
        {
            return null;
        }

        try
        {
            return read();
        }
        catch (PostgresException e)
        {
            // Not swallowed: the note says why the figure is missing (no pg_walinspect before PostgreSQL 15, or a
            // role that may not create it), and the case's rates stand without it.
            _unavailable = $"{e.SqlState}: {e.MessageText}";
            return null;
        }
    }
}
