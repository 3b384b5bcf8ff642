using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Events;

/// <summary>
/// <c>statepersistence_event_stream_clients_dropped_total</c>: event stream clients the server disconnected because
/// they took nothing it wrote within <c>StatePersistence:Server:EventsWriteTimeout</c> (a client that stopped
/// reading would otherwise hold its connection, one of <c>MaxConcurrentConnections</c>, for ever).
/// </summary>
internal sealed class EventStreamMetrics
{
    private readonly Counter<long> _dropped;

    public EventStreamMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(StateMeter.Name);
        _dropped = meter.CreateCounter<long>("statepersistence.event_stream.clients_dropped", "{client}",
            "Event stream clients disconnected because they read nothing within the write timeout.");
    }

    public void Dropped() => _dropped.Add(1);
}
