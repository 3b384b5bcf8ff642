namespace StatePersistence.Server.Configuration;

/// <summary>The server's own settings, bound from <c>StatePersistence:Server</c>.</summary>
internal sealed class StateServerOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "StatePersistence:Server";

    /// <summary>The environment variable that supplies the API key when the setting is empty.</summary>
    public const string ApiKeyVariable = "STATE_API_KEY";

    /// <summary>Where the server listens unless <c>--urls</c> (or <c>ASPNETCORE_URLS</c>) says otherwise.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The default request body limit: 4 MiB, ample for a task or report and small enough to hold in memory.</summary>
    public const long DefaultMaxRequestBodyBytes = 4L * 1024 * 1024;

    /// <summary>The shortest API key accepted: 32 characters, as <c>openssl rand -hex 16</c> gives at least.</summary>
    public const int MinApiKeyLength = 32;

    /// <summary>
    /// When set, every route except <c>/health</c>, <c>/login</c> and the dashboard's assets requires
    /// <c>Authorization: Bearer &lt;key&gt;</c> (or the dashboard's login cookie). From
    /// <c>StatePersistence:Server:ApiKey</c>, else the <c>STATE_API_KEY</c> environment variable. Never logged.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The largest <see cref="MaxRequestBodyBytes"/> accepted: 1 GiB. A body is read whole into one array and parsed into
    /// strings (a .NET string holds at most about 1 G characters), and the default body budget is 8 such bodies, which
    /// from 2^60 on overflowed a long and refused every body.
    /// </summary>
    public const long MaxRequestBodyBytesCeiling = 1L << 30;

    /// <summary>The largest request body accepted; larger ones get 413. Default 4 MiB, at most 1 GiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>
    /// Browser origins (<c>https://app.example</c>) allowed to call the server cross-site, through ASP.NET Core's CORS
    /// middleware. Empty by default: CORS is off and every cross-site request is refused with 403.
    /// </summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>Whether <c>/health</c> shows its details to requests without the API key (trusted networks). Default false.</summary>
    public bool HealthDetailsWithoutKey { get; set; }

    /// <summary>Whether <c>/metrics</c> is open without the API key, for a scraper that cannot send it. Default false.</summary>
    public bool MetricsWithoutKey { get; set; }

    /// <summary>How long a health result is reused, so that probing <c>/health</c> cannot load the disk. Default 2 s.</summary>
    public TimeSpan HealthCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Kestrel's limit on open connections; further ones are refused. Default 256.</summary>
    public long MaxConcurrentConnections { get; set; } = 256;

    /// <summary>How long a client may take to send the request headers. Default 10 s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The slowest request body accepted, in bytes per second after a 5 s grace period. Default 240.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>
    /// How long one request body may take to arrive, from the moment the server starts reading it; a body not whole
    /// by then is refused with 408 and its room in the body budget given back. Default 60 s, at most 1 day. The
    /// minimum data rate alone let a body declared at 4 MiB and sent at 240 bytes a second hold its room for about
    /// five hours, and eight of them refused every other write with 503.
    /// </summary>
    public TimeSpan RequestBodyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest <see cref="RequestBodyTimeout"/> accepted.</summary>
    public static readonly TimeSpan MaxRequestBodyTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// How often <c>GET /api/events</c> sends a heartbeat comment while no event happens. Default 15 s; from 1 ms to
    /// <see cref="MaxEventsHeartbeat"/>.
    /// </summary>
    public TimeSpan EventsHeartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The longest <see cref="EventsHeartbeat"/> accepted: 4,294,967,294 ms (49.7 days), the longest <c>Task.Delay</c>
    /// waits (the library's interval options have the same bound).
    /// </summary>
    public static readonly TimeSpan MaxEventsHeartbeat = TimeSpan.FromMilliseconds(uint.MaxValue - 1L);

    /// <summary>
    /// How long one write to a <c>GET /api/events</c> client may wait for the client to read before the connection is
    /// closed. Default 60 s. A client that stopped reading (a suspended laptop, a stuck consumer) otherwise holds its
    /// connection for ever: Kestrel's minimum data rate does not end it, and such connections add up to
    /// <see cref="MaxConcurrentConnections"/>.
    /// </summary>
    public TimeSpan EventsWriteTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The most <c>GET /api/events</c> streams open at once; one more is refused with 503. Each holds a connection for as
    /// long as it lasts, so without this limit streams could take every one of <see cref="MaxConcurrentConnections"/>
    /// and lock the API and <c>/health</c> out. 0 (the default) means half of <see cref="MaxConcurrentConnections"/>;
    /// a value set must be below it.
    /// </summary>
    public int MaxEventStreamClients { get; set; }

    /// <summary>The stream limit in force: <see cref="MaxEventStreamClients"/>, or half the connections when it is 0.</summary>
    public long EventStreamClientLimit => MaxEventStreamClients > 0 ? MaxEventStreamClients : Math.Max(1, MaxConcurrentConnections / 2);

    /// <summary>
    /// The most request-body bytes held in memory at once, counted by each body's declared length (the most a body may
    /// have when it is chunked); a request that finds no room is refused with 503. 0 (the default) means 8 times
    /// <see cref="MaxRequestBodyBytes"/> (32 MiB); a value set must be at least <see cref="MaxRequestBodyBytes"/>.
    /// </summary>
    public long MaxBufferedBodyBytes { get; set; }

    /// <summary>The body budget in force: <see cref="MaxBufferedBodyBytes"/>, or 8 bodies of the largest size when it is 0.</summary>
    public long BufferedBodyLimit => MaxBufferedBodyBytes > 0 ? MaxBufferedBodyBytes : 8 * MaxRequestBodyBytes;

    /// <summary>
    /// How long the server keeps listening and serving after a stop begins (SIGTERM, Ctrl-C), with <c>/health</c>
    /// answering 503 (shutting down), before Kestrel stops listening and drains the requests in flight. Default 0: the
    /// listeners close at once and a load balancer sees refused connections. Set it to the time the balancer needs to
    /// take an instance out (its probe interval times its unhealthy threshold); the host's shutdown timeout is
    /// extended by it. At most 5 minutes.
    /// </summary>
    public TimeSpan ShutdownDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The longest <see cref="ShutdownDelay"/> accepted.</summary>
    public static readonly TimeSpan MaxShutdownDelay = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many wrong keys one client address may post to <c>/login</c> within <see cref="LoginFailureWindow"/>; after
    /// that it gets 429 with <c>Retry-After</c> until the window ends. Default 10. (IPv6 addresses count by their /64.)
    /// </summary>
    public int LoginFailureLimit { get; set; } = 10;

    /// <summary>The window <see cref="LoginFailureLimit"/> counts in. Default 1 minute.</summary>
    public TimeSpan LoginFailureWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a dashboard login lasts: the server refuses its cookie once this long has passed since the login, so a
    /// cookie that leaked (browsers send a localhost cookie to every port) does not open the server for as long as the
    /// key stays the same. Default 12 hours; at most 30 days.
    /// </summary>
    public TimeSpan DashboardLoginLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The longest <see cref="DashboardLoginLifetime"/> accepted.</summary>
    public static readonly TimeSpan MaxDashboardLoginLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// The reverse proxies (addresses such as <c>10.0.0.5</c>, networks such as <c>10.0.0.0/8</c>) whose
    /// <c>X-Forwarded-Proto</c> and <c>X-Forwarded-For</c> are honoured. Empty by default: the headers are ignored from
    /// everyone, and the scheme and client address are the connection's.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Whether an API key is configured.</summary>
    public bool HasApiKey => !string.IsNullOrWhiteSpace(ApiKey);
}
