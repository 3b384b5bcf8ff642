using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Events;

/// <summary>
/// Fans the live-only <c>audit</c> events (published by <see cref="AuditMiddleware"/>) out to every
/// <c>GET /api/events</c> subscriber, and counts saves for the dashboard's rate. The state's own events (changes,
/// snapshots, errors) come from the library's resumable stream instead. Each subscriber has a bounded queue; one that
/// falls that far behind is disconnected rather than silently skipped.
/// </summary>
internal sealed class EventHub : IDisposable
{
    /// <summary>How many events a subscriber may have unread before it is disconnected.</summary>
    public const int SubscriberCapacity = 4096;

    /// <summary>Seconds the save rate is averaged over.</summary>
    private const int RateSeconds = 10;

    private readonly Lock _lock = new();
    private readonly List<Channel<ServerEvent>> _subscribers = [];
    // Saves counted per whole second in a ring: constant memory and one short lock per save, at any save rate.
    private readonly long[] _saveSecond = new long[RateSeconds + 1];
    private readonly long[] _saveCount = new long[RateSeconds + 1];
    private readonly IStatePersistence _state;
    private readonly TimeProvider _time;
    private int _subscriberCount;

    public EventHub(IStatePersistence state, TimeProvider time)
    {
        _state = state;
        _time = time;
        state.StateSaved += OnStateSaved;
    }

    /// <summary>Durable saves of items (snapshots excluded) per second, over the last ten whole seconds.</summary>
    public double SavesPerSecond
    {
        get
        {
            long now = CurrentSecond();
            long total = 0;
            lock (_lock)
            {
                for (int i = 0; i < _saveSecond.Length; i++)
                {
                    // The last ten whole seconds, not the one still running.
                    if (_saveSecond[i] < now && _saveSecond[i] >= now - RateSeconds)
                    {
                        total += _saveCount[i];
                    }
                }
            }

            return total / (double)RateSeconds;
        }
    }

    public void Publish<T>(string type, T data, JsonTypeInfo<T> typeInfo)
    {
        // Every write publishes; with nobody subscribed (the server's usual state) there is nothing to serialize or lock.
        if (Volatile.Read(ref _subscriberCount) == 0)
        {
            return;
        }

        string json = JsonSerializer.Serialize(data, typeInfo);
        lock (_lock)
        {
            var item = new ServerEvent(type, json);
            for (int i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Writer.TryWrite(item))
                {
                    _subscribers[i].Writer.TryComplete();
                    _subscribers.RemoveAt(i);
                }
            }

            Volatile.Write(ref _subscriberCount, _subscribers.Count);
        }
    }

    /// <summary>A new subscriber's queue; <see cref="Unsubscribe"/> it when the client goes.</summary>
    public ChannelReader<ServerEvent> Subscribe()
    {
        var channel = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(SubscriberCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        lock (_lock)
        {
            _subscribers.Add(channel);
            Volatile.Write(ref _subscriberCount, _subscribers.Count);
        }

        return channel.Reader;
    }

    public void Unsubscribe(ChannelReader<ServerEvent> reader)
    {
        lock (_lock)
        {
            _subscribers.RemoveAll(c => c.Reader == reader);
            Volatile.Write(ref _subscriberCount, _subscribers.Count);
        }
    }

    public void Dispose()
    {
        _state.StateSaved -= OnStateSaved;
        lock (_lock)
        {
            foreach (Channel<ServerEvent> channel in _subscribers)
            {
                channel.Writer.TryComplete();
            }

            _subscribers.Clear();
            Volatile.Write(ref _subscriberCount, 0);
        }
    }

    private void OnStateSaved(object? sender, StateSavedEventArgs e)
    {
        if (e.What == "snapshot")
        {
            return;
        }

        long second = CurrentSecond();
        int slot = (int)(second % _saveSecond.Length);
        lock (_lock)
        {
            if (_saveSecond[slot] != second)
            {
                _saveSecond[slot] = second;
                _saveCount[slot] = 0;
            }

            _saveCount[slot]++;
        }
    }

    private long CurrentSecond() => _time.GetUtcNow().ToUnixTimeSeconds();
}
