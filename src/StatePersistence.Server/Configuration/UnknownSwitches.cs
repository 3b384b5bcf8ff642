namespace StatePersistence.Server.Configuration;

/// <summary>
/// Finds the command-line options no part of the server reads. The command line becomes configuration keys, and a key
/// nobody reads is ignored: <c>--state-dir /srv/state</c> (for <c>--state-path</c>) started the server on
/// <c>./coding-agent-state</c> of the working directory, and <c>--STATE_ENCRYPTION_KEY_FILE keys.json</c> (a variable,
/// not an option) started it without encryption, both without a word. Only flat keys are judged: a
/// <c>--Section:Key</c> setting under <c>StatePersistence</c> is <see cref="UnknownSettings"/>' to judge, and other
/// sections (<c>Logging</c>, <c>Kestrel</c>) are left alone, as in any other source.
/// </summary>
internal static class UnknownSwitches
{
    /// <summary>
    /// The flat keys read from configuration: ASP.NET Core's host settings (<c>--urls</c>, <c>--environment</c>, …), the
    /// host filter's list, and the variables the server also takes as settings.
    /// </summary>
    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "http_ports", "https_ports", "https_port", "environment", "applicationName", "contentRoot", "webroot",
        "hostingStartupAssemblies", "hostingStartupExcludeAssemblies", "preventHostingStartup", "detailedErrors",
        "captureStartupErrors", "shutdownTimeoutSeconds", "suppressStatusMessages", "preferHostingUrls", "startupAssembly",
        "AllowedHosts", StateServerOptions.ApiKeyVariable, StoreSettings.ConnectionStringVariable,
    };

    /// <summary>One problem per option in <paramref name="args"/> that nothing reads.</summary>
    public static IEnumerable<string> Find(string[] args, IDictionary<string, string> switchMappings)
    {
        IConfigurationRoot parsed = new ConfigurationBuilder().AddCommandLine(args, switchMappings).Build();
        foreach (IConfigurationSection key in parsed.GetChildren())
        {
            if (key.GetChildren().Any() || Known.Contains(key.Key) || key.Key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            yield return $"--{key.Key} is not an option of this server, so it would be ignored. Its options are " +
                $"{string.Join(", ", switchMappings.Keys)}, --urls, and any setting as --Section:Key value " +
                "(--StatePersistence:MaxBackups 5); see the README's Configuration table.";
        }
    }
}
