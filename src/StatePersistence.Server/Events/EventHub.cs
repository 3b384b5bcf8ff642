using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Events;

/// <summary>
/// Fans the server's events out to every <c>GET /api/events</c> subscriber: the library's own events (snapshot saved,
/// save errors, autosave) and the item changes the routes made (published by <see cref="ChangeEventsMiddleware"/>).
/// Each subscriber has a bounded queue; one that falls that far behind is disconnected rather than silently skipped,
/// so a client that sees its stream end knows to reload.
/// </summary>
internal sealed class EventHub : IDisposable
{
    /// <summary>How many events a subscriber may have unread before it is disconnected.</summary>
    public const int SubscriberCapacity = 4096;

    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<Channel<ServerEvent>> _subscribers = [];
    private readonly Queue<long> _saveTimes = new();
    private readonly StatePersistenceService _state;
    private readonly TimeProvider _time;
    private long _nextId;

    public EventHub(StatePersistenceService state, TimeProvider time)
    {
        _state = state;
        _time = time;
        state.StateSaved += OnStateSaved;
        state.StateSaveError += OnSaveError;
        state.AutosaveTriggered += OnAutosave;
    }

    /// <summary>Durable saves of items (snapshots excluded) per second, over the last ten seconds.</summary>
    public double SavesPerSecond
    {
        get
        {
            lock (_lock)
            {
                Trim(_time.GetTimestamp());
                return _saveTimes.Count / RateWindow.TotalSeconds;
            }
        }
    }

    public void Publish<T>(string type, T data, JsonTypeInfo<T> typeInfo)
    {
        string json = JsonSerializer.Serialize(data, typeInfo);
        lock (_lock)
        {
            var item = new ServerEvent(++_nextId, type, json);
            for (int i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Writer.TryWrite(item))
                {
                    _subscribers[i].Writer.TryComplete();
                    _subscribers.RemoveAt(i);
                }
            }
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
        }

        return channel.Reader;
    }

    public void Unsubscribe(ChannelReader<ServerEvent> reader)
    {
        lock (_lock)
        {
            _subscribers.RemoveAll(c => c.Reader == reader);
        }
    }

    public void Dispose()
    {
        _state.StateSaved -= OnStateSaved;
        _state.StateSaveError -= OnSaveError;
        _state.AutosaveTriggered -= OnAutosave;
        lock (_lock)
        {
            foreach (Channel<ServerEvent> channel in _subscribers)
            {
                channel.Writer.TryComplete();
            }

            _subscribers.Clear();
        }
    }

    private void OnStateSaved(object? sender, StateSavedEventArgs e)
    {
        if (e.What == "snapshot")
        {
            Publish("state:saved", new StateEventData(e.Revision), EventJsonContext.Default.StateEventData);
            return;
        }

        lock (_lock)
        {
            long now = _time.GetTimestamp();
            _saveTimes.Enqueue(now);
            Trim(now);
        }
    }

    private void OnSaveError(object? sender, StateSaveErrorEventArgs e) =>
        Publish("state:save-error", new SaveErrorEventData(e.Operation), EventJsonContext.Default.SaveErrorEventData);

    private void OnAutosave(object? sender, AutosaveTriggeredEventArgs e) =>
        Publish("autosave:triggered", new StateEventData(e.Revision), EventJsonContext.Default.StateEventData);

    private void Trim(long now)
    {
        while (_saveTimes.Count > 0 && _time.GetElapsedTime(_saveTimes.Peek(), now) > RateWindow)
        {
            _saveTimes.Dequeue();
        }
    }
}
