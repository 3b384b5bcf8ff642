using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Dashboard;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Http;

/// <summary>
/// Bounds the request bodies held in memory at once by <see cref="StateServerOptions.BufferedBodyLimit"/>: each body is
/// read whole and parsed, and before this limit 200 concurrent 4 MB <c>PUT</c>s took the server from 117 MB to 2.3 GB
/// (the security audit). A request reserves its declared length (the most a body may have when it is chunked) until
/// it ends; one that finds no room is refused with 503 and <c>Retry-After</c>, before any of its body is read.
/// </summary>
internal sealed partial class BodyBudget(IOptions<StateServerOptions> options, ILogger<BodyBudget> logger, RefusedRequests refused)
{
    private const string Setting = StateServerOptions.Section + ":MaxBufferedBodyBytes";

    /// <summary>
    /// The most bytes a login form is read to: it holds one field, the key. The form is read before any key is checked,
    /// so it is kept far below <see cref="StateServerOptions.MaxRequestBodyBytes"/>, which bounds the API's bodies.
    /// </summary>
    public const long MaxFormBytes = 16 * 1024;

    /// <summary>How many login forms of the largest size (<see cref="FormLimit"/>) are read at once.</summary>
    public const int FormsAtOnce = 64;

    /// <summary>
    /// How many login forms one client address (as <see cref="LoginThrottle"/> counts addresses: an IPv6 one by its /64)
    /// may have read at once. A form is read in moments; a client that needs more at once is holding the pool.
    /// </summary>
    public const int FormsPerAddress = 4;

    private readonly long _maxBody = options.Value.MaxRequestBodyBytes;
    private readonly Pool _bodies = new(options.Value.BufferedBodyLimit);

    // The login form is read before any key is checked: anyone who reaches the server may send it. Its bodies take room
    // in a pool of their own, so that clients without the key cannot take the room of the API's bodies: eight logins
    // declaring 4 MiB and sending 300 bytes a second (Kestrel's minimum rate allows that for hours) refused every API
    // write with 503 for as long as they went on.
    private readonly Pool _forms = new(FormsAtOnce * FormLimit(options.Value.MaxRequestBodyBytes));

    // The forms each address has being read, an address removed at none. The deadline bounds each form's hold, not a
    // client that posts 64 slow forms and posts them again at every deadline: that held the whole pool, and /login was
    // 503 for everyone, the operator included.
    private readonly Dictionary<string, int> _formsByAddress = new(StringComparer.Ordinal);

    /// <summary>The size limit of a login form: <see cref="MaxFormBytes"/>, or the body limit when that is lower.</summary>
    public static long FormLimit(long maxRequestBodyBytes) => Math.Min(maxRequestBodyBytes, MaxFormBytes);

    /// <summary>The bytes the bodies being read hold now, the API's and the login forms' (for tests to wait on).</summary>
    internal long BytesHeld => Volatile.Read(ref _bodies.Reserved) + Volatile.Read(ref _forms.Reserved);

    /// <summary>Reserves room for this request's body until the request ends, or throws the 503 that refuses it.</summary>
    public void Reserve(HttpRequest request) => Reserve(request, _maxBody, _bodies, forms: false);

    /// <summary>
    /// Reserves room for a login form of at most <paramref name="maxBytes"/> (its declared length, or that when it is
    /// chunked) in the forms' own pool until the request ends, or throws the 503 that refuses it; first takes one of its
    /// address's <see cref="FormsPerAddress"/> slots, or throws the 429 that refuses it before it takes any room.
    /// </summary>
    public void ReserveForm(HttpRequest request, long maxBytes)
    {
        if (Math.Min(request.ContentLength ?? maxBytes, maxBytes) <= 0)
        {
            // Nothing to read, so nothing held.
            return;
        }

        AddressSlot slot = TakeAddressSlot(request);
        try
        {
            Reserve(request, maxBytes, _forms, forms: true);
        }
        catch
        {
            slot.Dispose();
            throw;
        }

        request.HttpContext.Response.RegisterForDispose(slot);
    }

    private AddressSlot TakeAddressSlot(HttpRequest request)
    {
        string address = LoginThrottle.Partition(request.HttpContext.Connection.RemoteIpAddress);
        lock (_formsByAddress)
        {
            int held = _formsByAddress.GetValueOrDefault(address);
            if (held < FormsPerAddress)
            {
                _formsByAddress[address] = held + 1;
                return new AddressSlot(this, address);
            }
        }

        if (refused.LogWhole(RefusedRequests.LoginFormsPerAddress, StatusCodes.Status429TooManyRequests,
            $"a login form from {address}, which already has {FormsPerAddress} being read"))
        {
            LogTooManyForms(logger, address, FormsPerAddress);
        }

        string detail = $"This address ({address}) already has {FormsPerAddress} login forms being read, the most one address may have " +
            "read at once; nothing of this request was read. Retry once one of them is answered.";
        throw new ApiProblemException(new RetryAfter(ApiProblems.Problem(StatusCodes.Status429TooManyRequests, "Too many login forms", detail,
            more: new Dictionary<string, object?> { ["limit_value"] = FormsPerAddress })), "Too many login forms from one address.");
    }

    private void ReleaseAddressSlot(string address)
    {
        lock (_formsByAddress)
        {
            int held = _formsByAddress[address] - 1;
            if (held == 0)
            {
                _formsByAddress.Remove(address);
            }
            else
            {
                _formsByAddress[address] = held;
            }
        }
    }

    private void Reserve(HttpRequest request, long maxBody, Pool pool, bool forms)
    {
        long bytes = Math.Min(request.ContentLength ?? maxBody, maxBody);
        if (bytes <= 0)
        {
            return;
        }

        if (Interlocked.Add(ref pool.Reserved, bytes) > pool.Size)
        {
            Interlocked.Add(ref pool.Reserved, -bytes);
            string remote = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            string room = forms ? $"the {pool.Size} bytes kept for login forms ({FormsAtOnce} of the largest)" : $"{Setting} ({pool.Size})";
            if (refused.LogWhole(RefusedRequests.BodyBudget, StatusCodes.Status503ServiceUnavailable, $"a body of {bytes} bytes from {remote} found no room in {room}"))
            {
                LogRefused(logger, remote, bytes, room);
            }

            string detail = forms
                ? $"The login forms being read already take the {pool.Size} bytes the server keeps for them; nothing of this request was read. Retry in a moment."
                : $"The request bodies being read already take the {pool.Size} bytes the server holds at once ({Setting}); " +
                  "nothing of this request was read or stored. Retry in a moment.";
            throw new ApiProblemException(new RetryAfter(ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Server busy", detail,
                more: forms ? new Dictionary<string, object?> { ["limit_value"] = pool.Size }
                    : new Dictionary<string, object?> { ["limit"] = Setting, ["limit_value"] = pool.Size })), "Body budget exhausted.");
        }

        request.HttpContext.Response.RegisterForDispose(new Reservation(pool, bytes));
    }

    /// <summary>Room for bodies, and how much of it the requests being read hold.</summary>
    private sealed class Pool(long size)
    {
        public readonly long Size = size;
        public long Reserved;
    }

    /// <summary>The header set as the problem is written: the exception handler clears any set before it.</summary>
    private sealed class RetryAfter(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return problem.ExecuteAsync(httpContext);
        }
    }

    private sealed class Reservation(Pool pool, long bytes) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Add(ref pool.Reserved, -bytes);
            }
        }
    }

    /// <summary>A form being read for <see cref="FormsPerAddress"/>, given back as its request ends.</summary>
    private sealed class AddressSlot(BodyBudget budget, string address) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                budget.ReleaseAddressSlot(address);
            }
        }
    }

    [LoggerMessage(7124, LogLevel.Warning,
        "Login forms from {Address} are refused (429): it already has {Forms} being read, the most one address may have read at once")]
    private static partial void LogTooManyForms(ILogger logger, string address, int forms);

    [LoggerMessage(7121, LogLevel.Warning, "A request body of {Bytes} bytes from {Remote} was refused (503): the bodies being read already take {Room}")]
    private static partial void LogRefused(ILogger logger, string remote, long bytes, string room);
}
