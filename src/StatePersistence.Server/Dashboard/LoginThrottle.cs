using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
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
/// </summary>
internal sealed class LoginThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;
    private readonly RefusedRequests _refused;
    private readonly TimeSpan _window;
    private readonly ILogger<LoginThrottle> _logger;

    public LoginThrottle(IOptions<StateServerOptions> options, RefusedRequests refused, ILogger<LoginThrottle> logger)
    {
        _logger = logger;
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
    /// Null when <paramref name="context"/>'s address may try a key; otherwise how long until it may again (the
    /// refusal is counted and logged here).
    /// </summary>
    public TimeSpan? Blocked(HttpContext context)
    {
        string address = Partition(context.Connection.RemoteIpAddress);
        // Zero permits asks whether any is left without taking one.
        using RateLimitLease lease = _failures.AttemptAcquire(address, 0);
        if (lease.IsAcquired)
        {
            return null;
        }

        TimeSpan retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan after) && after > TimeSpan.Zero ? after : _window;
        if (_refused.LogWhole(RefusedRequests.LoginRateLimit, StatusCodes.Status429TooManyRequests,
            $"{address} posted more wrong keys to /login than StatePersistence:Server:LoginFailureLimit allows per LoginFailureWindow"))
        {
            LoginLog.Throttled(_logger, address, retryAfter);
        }

        return retryAfter;
    }

    /// <summary>Counts a wrong key against <paramref name="context"/>'s address.</summary>
    public void Failed(HttpContext context)
    {
        using RateLimitLease _ = _failures.AttemptAcquire(Partition(context.Connection.RemoteIpAddress), 1);
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
}

/// <summary>The login throttle's line (server id 7134).</summary>
internal static partial class LoginLog
{
    [LoggerMessage(7134, LogLevel.Warning, "Login attempts from {Address} are refused (429) for {RetryAfter}: it posted more wrong keys than StatePersistence:Server:LoginFailureLimit allows per LoginFailureWindow")]
    public static partial void Throttled(ILogger logger, string address, TimeSpan retryAfter);
}
