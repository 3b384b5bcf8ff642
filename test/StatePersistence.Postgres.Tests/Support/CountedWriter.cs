using System.Diagnostics.Metrics;
using Npgsql;
using StatePersistence.Postgres.Changes;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>
/// A group writer on a pool of its own whose round trips to the database are counted, by Npgsql's own metrics (one
/// operation per command or batch executed) for that pool's name alone, so tests running beside it do not count.
/// </summary>
internal sealed class CountedWriter : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly MeterListener _listener = new();
    private readonly string _pool = "counted-" + Guid.NewGuid().ToString("N");
    private long _roundTrips;

    private CountedWriter(Store store)
    {
        _dataSource = new NpgsqlDataSourceBuilder(PostgresServer.ConnectionString) { Name = _pool }.Build();
        Writer = new GroupWriter(_dataSource, store.Schema, new ChangeRows(new StorePayloads(), store.Schema));
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("Npgsql", StringComparison.Ordinal) && instrument.Name == "db.client.operation.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "db.client.connection.pool.name" && Equals(tag.Value, _pool))
                {
                    Interlocked.Increment(ref _roundTrips);
                }
            }
        });
    }

    public GroupWriter Writer { get; }

    /// <summary>The round trips since <see cref="CreateAsync"/> returned.</summary>
    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    /// <summary>
    /// The writer, after one commit that is not counted: a pool's first use also loads the database's types, which is
    /// not what a commit costs.
    /// </summary>
    public static async Task<CountedWriter> CreateAsync(Store store, CancellationToken ct)
    {
        var counted = new CountedWriter(store);
        Assert.True((await counted.Writer.AppendAsync([Store.Put("warm", ExpectedRevision.Absent)], Durability.Full, ct)).Committed);
        counted._listener.Start();
        return counted;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _dataSource.DisposeAsync();
    }
}
