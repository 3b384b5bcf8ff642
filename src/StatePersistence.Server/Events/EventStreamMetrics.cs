using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Events;

/// <summary>
/// <c>statepersistence_event_stream_clients_dropped_total</c>: event stream clients the server disconnected because
/// they took nothing it wrote within <c>StatePersistence:Server:EventsWriteTimeout</c> (a client that stopped
/// reading would otherwise hold its connection, one of <c>MaxConcurrentConnections</c>, for ever), or fell more than
/// <see cref="EventHub.SubscriberCapacity"/> audit events behind; and
/// <c>statepersistence_event_stream_clients_refused_total</c>: streams refused because
/// <c>StatePersistence:Server:MaxEventStreamClients</c> were open.
/// </summary>
internal sealed class EventStreamMetrics
{
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _refused;

    public EventStreamMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(StateMeter.Name);
        _dropped = meter.CreateCounter<long>("statepersistence.event_stream.clients_dropped", "{client}",
            "Event stream clients disconnected because they read nothing within the write timeout, or fell too far behind on audits.");
        _refused = meter.CreateCounter<long>("statepersistence.event_stream.clients_refused", "{client}",
            "Event stream clients refused because the most streams allowed were open.");
    }

    public void Dropped() => _dropped.Add(1);

    public void Refused() => _refused.Add(1);
}
