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

    /// <summary>
    /// When set, every route except <c>/health</c> requires <c>Authorization: Bearer &lt;key&gt;</c>. From
    /// <c>StatePersistence:Server:ApiKey</c>, else the <c>STATE_API_KEY</c> environment variable. Never logged.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The largest request body accepted; larger ones get 413. Default 4 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>Whether an API key is configured.</summary>
    public bool HasApiKey => !string.IsNullOrWhiteSpace(ApiKey);
}
