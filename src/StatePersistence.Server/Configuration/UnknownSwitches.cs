namespace StatePersistence.Server.Configuration;

/// <summary>
/// Finds the command-line options no part of the server reads. The command line becomes configuration keys, and a key
/// nobody reads is ignored: <c>--state-dir /srv/state</c> (for <c>--state-path</c>) started the server on
/// <c>./coding-agent-state</c> of the working directory, and <c>--STATE_ENCRYPTION_KEY_FILE keys.json</c> (a variable,
/// not an option) started it without encryption, both without a word. Only flat keys are judged by name: a
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

    /// <summary>
    /// One problem per argument in <paramref name="args"/> that nothing reads, walked as ASP.NET Core's command-line
    /// source walks them (<c>--key value</c>, <c>--key=value</c>, <c>/key value</c>, <c>key=value</c>, a short
    /// <c>-k</c> only when mapped), which drops a word that is no option, a short switch it has no mapping for, and an
    /// option left without a value at the end, all without a word.
    /// </summary>
    public static IReadOnlyList<string> Find(IReadOnlyList<string> args, IDictionary<string, string> switchMappings)
    {
        var problems = new List<string>();
        var keys = new List<(string Key, string Written, string Arg, bool ValueMissing)>();
        string options = CommandLineUsage.OptionList;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            int separator = arg.IndexOf('=', StringComparison.Ordinal);
            string written = separator < 0 ? arg : arg[..separator];
            string asSwitch = arg.StartsWith('/') ? "--" + written[1..] : written;
            string key;
            if (switchMappings.TryGetValue(asSwitch, out string? mapped))
            {
                key = mapped;
            }
            else if (asSwitch.StartsWith("--", StringComparison.Ordinal))
            {
                key = asSwitch[2..];
            }
            else if (asSwitch.StartsWith('-'))
            {
                problems.Add($"{written} is not an option of this server, so it would be ignored. {options}");
                i += separator < 0 && i + 1 < args.Count && !args[i + 1].StartsWith('-') ? 1 : 0;
                continue;
            }
            else if (separator >= 0)
            {
                key = written;
            }
            else
            {
                problems.Add($"'{arg}' is not an option of this server (an option starts with --), so it would be ignored. {options}");
                continue;
            }

            // Without '=' the next argument is the value, whatever it looks like.
            keys.Add((key, written, arg, separator < 0 && ++i >= args.Count));
        }

        foreach ((string key, string written, string arg, bool valueMissing) in keys)
        {
            // A section's own key (--StatePersistence= beside --StatePersistence:StatePath=, as a test host writes its
            // settings) holds no setting of its own and is read as the section.
            bool section = keys.Any(other => other.Key.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));
            if (!section && !key.Contains(':', StringComparison.Ordinal) && !Known.Contains(key) && !key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{written} is not an option of this server, so it would be ignored. {options}");
            }
            else if (valueMissing)
            {
                problems.Add($"{arg} has no value, so it would be ignored: write {arg} VALUE or {arg}=VALUE.");
            }
        }

        return problems;
    }
}
