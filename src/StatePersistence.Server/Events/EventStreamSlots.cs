using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Events;

/// <summary>
/// Counts the open <c>GET /api/events</c> streams against <see cref="StateServerOptions.EventStreamClientLimit"/>: a
/// stream holds its connection for as long as it lasts, and without a limit of their own streams could take every one
/// of <c>MaxConcurrentConnections</c> (the security audit: 256 open streams, and every API request and <c>/health</c>
/// was refused).
/// </summary>
internal sealed class EventStreamSlots(IOptions<StateServerOptions> options)
{
    private readonly long _limit = options.Value.EventStreamClientLimit;
    private long _open;

    public long Limit => _limit;

    /// <summary>Takes a slot, or returns false when every one is taken; a slot taken is given back by <see cref="Leave"/>.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= _limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _open);
}
