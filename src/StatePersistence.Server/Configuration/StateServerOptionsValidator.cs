using Microsoft.Extensions.Options;

namespace StatePersistence.Server.Configuration;

/// <summary>Checks the server's settings at start-up; each problem names its setting and never shows the key.</summary>
internal sealed class StateServerOptionsValidator : IValidateOptions<StateServerOptions>
{
    private const string S = StateServerOptions.Section;

    public ValidateOptionsResult Validate(string? name, StateServerOptions options)
    {
        var problems = new List<string>();
        if (options.HasApiKey && options.ApiKey!.Trim().Length < StateServerOptions.MinApiKeyLength)
        {
            problems.Add($"The API key ({StateServerOptions.ApiKeyVariable} or {S}:ApiKey) has {options.ApiKey.Trim().Length} characters; " +
                $"use at least {StateServerOptions.MinApiKeyLength}, for example: export {StateServerOptions.ApiKeyVariable}=\"$(openssl rand -hex 32)\".");
        }

        if (options.MaxRequestBodyBytes is <= 0 or > StateServerOptions.MaxRequestBodyBytesCeiling)
        {
            problems.Add($"{S}:MaxRequestBodyBytes must be from 1 to {StateServerOptions.MaxRequestBodyBytesCeiling} (1 GiB) (was {options.MaxRequestBodyBytes}); " +
                "a body is held whole in memory.");
        }

        Positive(problems, "MaxConcurrentConnections", options.MaxConcurrentConnections);
        if (options.MaxEventStreamClients < 0 || (options.MaxEventStreamClients > 0 && options.MaxEventStreamClients >= options.MaxConcurrentConnections))
        {
            problems.Add($"{S}:MaxEventStreamClients must be 0 (half of {S}:MaxConcurrentConnections) or from 1 to below " +
                $"MaxConcurrentConnections ({options.MaxConcurrentConnections}), so that event streams leave connections for the API (was {options.MaxEventStreamClients}).");
        }

        if (options.MaxBufferedBodyBytes < 0 || (options.MaxBufferedBodyBytes > 0 && options.MaxBufferedBodyBytes < options.MaxRequestBodyBytes))
        {
            problems.Add($"{S}:MaxBufferedBodyBytes must be 0 (8 times {S}:MaxRequestBodyBytes) or at least MaxRequestBodyBytes " +
                $"({options.MaxRequestBodyBytes}), so that one body of the largest size fits (was {options.MaxBufferedBodyBytes}).");
        }

        if (options.RequestHeadersTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{S}:RequestHeadersTimeout must be greater than 00:00:00 (was {options.RequestHeadersTimeout}).");
        }

        if (options.RequestBodyTimeout <= TimeSpan.Zero || options.RequestBodyTimeout > StateServerOptions.MaxRequestBodyTimeout)
        {
            problems.Add($"{S}:RequestBodyTimeout must be greater than 00:00:00 and at most {StateServerOptions.MaxRequestBodyTimeout:c} " +
                $"(was {options.RequestBodyTimeout}).");
        }

        if (options.HealthCacheDuration < TimeSpan.Zero)
        {
            problems.Add($"{S}:HealthCacheDuration must not be negative (was {options.HealthCacheDuration}).");
        }

        if (options.ShutdownDelay < TimeSpan.Zero || options.ShutdownDelay > StateServerOptions.MaxShutdownDelay)
        {
            problems.Add($"{S}:ShutdownDelay must be from 00:00:00 (off) to {StateServerOptions.MaxShutdownDelay:c} (was {options.ShutdownDelay}).");
        }

        if (options.LoginFailureLimit < 1)
        {
            problems.Add($"{S}:LoginFailureLimit must be at least 1 (was {options.LoginFailureLimit}).");
        }

        if (options.LoginFailureWindow <= TimeSpan.Zero || options.LoginFailureWindow > TimeSpan.FromDays(1))
        {
            problems.Add($"{S}:LoginFailureWindow must be greater than 00:00:00 and at most 1.00:00:00 (was {options.LoginFailureWindow}).");
        }

        if (options.DashboardLoginLifetime < TimeSpan.FromMinutes(1) || options.DashboardLoginLifetime > StateServerOptions.MaxDashboardLoginLifetime)
        {
            problems.Add($"{S}:DashboardLoginLifetime must be from 00:01:00 to {StateServerOptions.MaxDashboardLoginLifetime:c} " +
                $"(was {options.DashboardLoginLifetime}).");
        }

        // Task.Delay waits whole milliseconds: under 1 ms it waited 0 (a loop writing heartbeats), over 49.7 days it threw
        // at every stream.
        if (options.EventsHeartbeat < TimeSpan.FromMilliseconds(1) || options.EventsHeartbeat > StateServerOptions.MaxEventsHeartbeat)
        {
            problems.Add($"{S}:EventsHeartbeat must be from 1 ms to 49.7 days, {StateServerOptions.MaxEventsHeartbeat:c}, the longest a .NET timer waits " +
                $"(was {options.EventsHeartbeat}).");
        }

        if (options.EventsWriteTimeout <= TimeSpan.Zero || options.EventsWriteTimeout > TimeSpan.FromDays(1))
        {
            problems.Add($"{S}:EventsWriteTimeout must be greater than 00:00:00 and at most 1.00:00:00 (was {options.EventsWriteTimeout}).");
        }

        if (options.MinRequestBodyBytesPerSecond < 0 || double.IsNaN(options.MinRequestBodyBytesPerSecond))
        {
            problems.Add($"{S}:MinRequestBodyBytesPerSecond must be 0 (off) or more (was {options.MinRequestBodyBytesPerSecond}).");
        }

        foreach (string origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) || uri.AbsolutePath != "/" || uri.Scheme is not ("http" or "https"))
            {
                problems.Add($"{S}:CorsOrigins holds '{origin}', which is not an origin such as https://app.example.");
            }
        }

        problems.AddRange(Access.TrustedProxies.Problems(options.TrustedProxies));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void Positive(List<string> problems, string setting, long value)
    {
        if (value <= 0)
        {
            problems.Add($"{S}:{setting} must be greater than 0 (was {value}).");
        }
    }
}
