using System.Globalization;
using Npgsql;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The write-ahead log a PostgreSQL case makes per save, from the server's own counters (<c>pg_stat_wal</c>, PostgreSQL
/// 14 and later) read around each of the case's rounds, divided by the saves the case ran in them. Unlike a rate,
/// it does not move with the machine's load: it is what each save costs the server in log records (one per heap
/// tuple and per index entry written), bytes (what every commit's flush writes) and full-page images. The counters
/// are the whole server's, and no other case runs during a round, so the window is the case's own (with whatever its
/// own background work writes, such as a feed reader's numbering).
/// </summary>
internal sealed class WalPerSave(NpgsqlDataSource dataSource)
{
    private long _saves;
    private long _savesAtStart;
    private (long Records, long FullPages, decimal Bytes)? _start;
    private long _windowSaves;
    private long _records;
    private long _fullPages;
    private decimal _bytes;
    private string? _unavailable;

    /// <summary>Counts one save (called by the case's writers, concurrently).</summary>
    public void Saved() => Interlocked.Increment(ref _saves);

    public void RoundStarting()
    {
        _savesAtStart = Interlocked.Read(ref _saves);
        _start = Read();
    }

    public void RoundEnded()
    {
        if (_start is not { } start || Read() is not { } end)
        {
            return;
        }

        _windowSaves += Interlocked.Read(ref _saves) - _savesAtStart;
        _records += end.Records - start.Records;
        _fullPages += end.FullPages - start.FullPages;
        _bytes += end.Bytes - start.Bytes;
        _start = null;
    }

    /// <summary>For the case's note: WAL records, bytes and full-page images per save over its rounds.</summary>
    public string Describe() => _unavailable is { } why ? $"WAL per save not measured: {why}"
        : _windowSaves == 0 ? "WAL per save not measured: no saves in the rounds"
        : string.Create(CultureInfo.InvariantCulture,
            $"WAL per save: {_bytes / _windowSaves:N0} B, {(double)_records / _windowSaves:F1} records, {(double)_fullPages / _windowSaves:F2} full-page images");

    private (long Records, long FullPages, decimal Bytes)? Read()
    {
        if (_unavailable is not null)
        {
            return null;
        }

        try
        {
            using NpgsqlCommand read = dataSource.CreateCommand("SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal");
            using NpgsqlDataReader reader = read.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetDecimal(2));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // Not swallowed: the note says why the figure is missing.
            _unavailable = "pg_stat_wal needs PostgreSQL 14 or later";
            return null;
        }
    }
}
