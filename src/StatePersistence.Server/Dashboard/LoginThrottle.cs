using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Access;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Dashboard;

/// <summary>
/// Limits wrong keys posted to <c>/login</c> per client address, with the framework's partitioned fixed-window limiter
/// (<c>System.Threading.RateLimiting</c>, the one ASP.NET Core's rate-limiting middleware runs on): after
/// <see cref="StateServerOptions.LoginFailureLimit"/> wrong keys within <see cref="StateServerOptions.LoginFailureWindow"/>
/// an address gets 429 with <c>Retry-After</c> until the window ends, its key not even compared. Only failures are
/// counted, which the middleware (it takes a permit before the endpoint runs) cannot do; a right key costs nothing, and
/// one attacker's address never blocks another's. IPv6 addresses are partitioned by their /64, the block one
/// subscriber gets, so that an attacker cannot rotate through it.
/// <para>Wrong keys sent under a <c>Host</c> that is not this server's own (neither a loopback name, nor an IP address,
/// nor a name <c>AllowedHosts</c> lists: with a key set it is <c>*</c> by default, so any name gets through) are counted
/// apart, in one more budget per address (<see cref="Key"/>). A page that rebinds its DNS name to the server posts from
/// the operator's browser, so from the operator's address, with its own name in <c>Host</c> and <c>Origin</c> (which the
/// origin check takes for same-origin): counted with the address alone, its ten wrong keys locked the operator out of
/// the login. Now they throttle only that page. Neither a budget per <c>Host</c> (an attacker who sends its guesses
/// straight could make up a fresh name for every ten) nor refusing unlisted names (an operator who reaches the server by
/// a name <c>AllowedHosts: *</c> lets through would lose the login) keeps both purposes; with one shared budget for
/// all other names, a guesser gets at most twice the limit per window.</para>
/// </summary>
internal sealed class LoginThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;
    private readonly RefusedRequests _refused;
    private readonly TimeSpan _window;
    private readonly ILogger<LoginThrottle> _logger;
    private readonly OwnHostNames _ownNames;

    private const string PendingItem = "StatePersistence.LoginGuessPending";

    // The tries each budget has let in and not yet answered, a budget removed at none.
    private readonly Dictionary<string, int> _pending = new(StringComparer.Ordinal);

    public LoginThrottle(IOptions<StateServerOptions> options, OwnHostNames ownNames, RefusedRequests refused,
        ILogger<LoginThrottle> logger)
    {
        _logger = logger;
        _ownNames = ownNames;
        StateServerOptions server = options.Value;
        _refused = refused;
        _window = server.LoginFailureWindow;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = server.LoginFailureLimit,
                Window = server.LoginFailureWindow,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>
    /// Null when <paramref name="context"/>'s address may try a key, which then counts as pending until it proves wrong
    /// (<see cref="Failed"/>) or its request ends; otherwise how long until it may again (the refusal is counted and
    /// logged here).
    /// </summary>
    public TimeSpan? Blocked(HttpContext context)
    {
        string address = Key(context);
        lock (_pending)
        {
            // The wrong keys left, less the tries let in and not yet answered: the limit was checked here and spent only
            // once a key proved wrong, so every post that came meanwhile had its key compared past the limit.
            long left = _failures.GetStatistics(address)?.CurrentAvailablePermits ?? 0;
            int pending = _pending.GetValueOrDefault(address);
            if (left > pending)
            {
                _pending[address] = pending + 1;
                var guess = new PendingGuess(this, address);
                context.Items[PendingItem] = guess;
                context.Response.RegisterForDispose(guess);
                return null;
            }
        }

        // Zero permits asks whether any is left without taking one: none, and the window's end is when; some, all taken
        // by tries being answered, and a moment is.
        using RateLimitLease lease = _failures.AttemptAcquire(address, 0);
        TimeSpan retryAfter = lease.IsAcquired ? TimeSpan.FromSeconds(1)
            : lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) && after > TimeSpan.Zero ? after : _window;
        if (_refused.LogWhole(RefusedRequests.LoginRateLimit, StatusCodes.Status429TooManyRequests,
            $"{address} posted more wrong keys to /login than StatePersistence:Server:LoginFailureLimit allows per LoginFailureWindow"))
        {
            LoginLog.Throttled(_logger, address, retryAfter);
        }

        return retryAfter;
    }

    /// <summary>Counts a wrong key against <paramref name="context"/>'s address (and the kind of name it was sent under).</summary>
    public void Failed(HttpContext context)
    {
        lock (_pending)
        {
            // Spent and no longer pending in one step, so that no other try sees the key counted twice, or not at all.
            using RateLimitLease _ = _failures.AttemptAcquire(Key(context), 1);
            (context.Items[PendingItem] as PendingGuess)?.Dispose();
        }
    }

    /// <summary>Whether the login was posted under a name other than this server's own (see the class's remarks).</summary>
    public bool UnderAnotherName(HttpContext context) => !_ownNames.Contains(context.Request.Host);

    /// <summary>
    /// The budget a login is counted in: its address's, or, posted under a name that is not this server's own, the one
    /// the address shares for all such names, which also names it in the 429's log line.
    /// </summary>
    private string Key(HttpContext context)
    {
        string address = Partition(context.Connection.RemoteIpAddress);
        return UnderAnotherName(context) ? address + " under a Host not in AllowedHosts" : address;
    }

    /// <summary>The address, or its /64 for IPv6 (an IPv4 address mapped into IPv6 counts as the IPv4 one).</summary>
    public static string Partition(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>The <c>Retry-After</c> value: whole seconds, rounded up, at least 1.</summary>
    public static string RetryAfterSeconds(TimeSpan after) =>
        Math.Max(1, (long)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _failures.Dispose();

    private void Release(string address)
    {
        lock (_pending)
        {
            int pending = _pending[address] - 1;
            if (pending == 0)
            {
                _pending.Remove(address);
            }
            else
            {
                _pending[address] = pending;
            }
        }
    }

    /// <summary>A try let in by <see cref="Blocked"/>, pending until its key proves wrong or its request ends.</summary>
    private sealed class PendingGuess(LoginThrottle throttle, string address) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                throttle.Release(address);
            }
        }
    }
}

/// <summary>The login throttle's line (server id 7134).</summary>
internal static partial class LoginLog
{
    [LoggerMessage(7134, LogLevel.Warning, "Login attempts from {Address} are refused (429) for {RetryAfter}: it posted more wrong keys than StatePersistence:Server:LoginFailureLimit allows per LoginFailureWindow")]
    public static partial void Throttled(ILogger logger, string address, TimeSpan retryAfter);
}
