using Microsoft.Extensions.Options;
using StatePersistence.Hosting;
using StatePersistence.Hosting.HealthChecks;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// Everything that can stop the start, checked before anything listens or opens the state, and reported together
/// as one <see cref="ServerStartupException"/>: a key on the command line, a setting that does not parse, a setting
/// out of range, a key under <c>StatePersistence</c> that is no setting (a typo), an exposed address without a key. The operator fixes them all in one round.
/// </summary>
internal static class StartupChecks
{
    private static readonly string[] KeySettings = [StateServerOptions.ApiKeyVariable, StateServerOptions.Section + ":ApiKey"];

    /// <summary>The key file's setting, which <c>--encryption-key-file</c> sets.</summary>
    private const string KeyFileSetting = StatePersistenceHostingDefaults.ConfigurationSection + ":Encryption:KeyFile";

    /// <summary>
    /// Refuses the API key on the command line (<c>--STATE_API_KEY</c>, <c>--StatePersistence:Server:ApiKey</c>, with
    /// or without <c>=</c>, any prefix or case): every local user can read a process's arguments in <c>ps</c>.
    /// </summary>
    public static IEnumerable<string> KeyOnCommandLine(IEnumerable<string> args)
    {
        foreach (string arg in args)
        {
            string name = arg.TrimStart('-', '/').Split('=', 2)[0].Replace("__", ":", StringComparison.Ordinal);
            if (KeySettings.Any(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)))
            {
                yield return $"The API key was given on the command line ({arg.Split('=', 2)[0]}), where every local user can read it " +
                    $"with ps. Pass it in the environment instead: export {StateServerOptions.ApiKeyVariable}=\"$(openssl rand -hex 32)\".";
                yield break;
            }
        }
    }

    /// <summary>
    /// Binds and validates every setting the server uses from <paramref name="configuration"/>, collecting each failure
    /// to parse or validate. Run before the host is built: building it already creates Kestrel from these settings.
    /// </summary>
    public static List<string> Settings(IConfiguration configuration)
    {
        var problems = new List<string>(UnknownSettings.Find(configuration));
        if (configuration.GetSection(KeyFileSetting).Value is { } keyFile && string.IsNullOrWhiteSpace(keyFile))
        {
            // Read as "not set", it quietly meant the environment's key file, else no encryption at all.
            problems.Add($"{KeyFileSetting} (--encryption-key-file) is empty: give the key file's path (statectl keys create FILE makes one), "
                + $"or leave the setting out for ${Encryption.EncryptionOptions.KeyFileVariable}, else no encryption.");
        }

        if (Bind<StatePersistenceOptions>(configuration, StatePersistenceHostingDefaults.ConfigurationSection, problems) is { } persistence)
        {
            problems.AddRange(persistence.Validate().Select(p => $"{StatePersistenceHostingDefaults.ConfigurationSection}:{p}"));
        }

        StatePersistenceHealthCheckOptions? health = Bind<StatePersistenceHealthCheckOptions>(configuration,
            StatePersistenceHostingDefaults.HealthCheckSection, problems);
        if (Bind<StateServerOptions>(configuration, StateServerOptions.Section, problems) is { } server)
        {
            if (!server.HasApiKey)
            {
                server.ApiKey = configuration[StateServerOptions.ApiKeyVariable];
            }

            if (Bind<Quotas.QuotaOptions>(configuration, Quotas.QuotaOptions.Section, problems) is { } quotas)
            {
                problems.AddRange(quotas.Validate());
                if (health is not null && DiskFloorNotBelowHealthWarning(quotas, health) is { } floor)
                {
                    problems.Add(floor);
                }
            }

            ValidateOptionsResult result = new StateServerOptionsValidator().Validate(null, server);
            problems.AddRange(result.Failures ?? []);
            IReadOnlyList<string> exposed = ServerAddresses.Exposed(ServerAddresses.Configured(configuration));
            if (!server.HasApiKey && exposed.Count > 0)
            {
                problems.Add(ExposedWithoutKey(exposed));
            }
        }

        return problems;
    }

    /// <summary>
    /// The refusal for a free-disk floor (<see cref="Quotas.QuotaOptions.MinFreeDiskBytes"/>, 507 for every write) that
    /// is not below the health check's low-disk threshold: every write would be refused while <c>/health</c> still said
    /// Healthy, and a monitor watching it would never warn before. Both come from configuration alone (the server gives
    /// the health check no other), so checking them here holds whatever the operator sets. A floor of 0 is off.
    /// </summary>
    private static string? DiskFloorNotBelowHealthWarning(Quotas.QuotaOptions quotas, StatePersistenceHealthCheckOptions health) =>
        quotas.MinFreeDiskBytes > 0 && quotas.MinFreeDiskBytes >= health.LowDiskSpaceBytes
            ? $"{Quotas.QuotaOptions.Section}:MinFreeDiskBytes ({quotas.MinFreeDiskBytes}) is not below " +
              $"{StatePersistenceHostingDefaults.HealthCheckSection}:LowDiskSpaceBytes ({health.LowDiskSpaceBytes}), so every write would " +
              "be refused for low disk (507) while /health still reported Healthy. Set LowDiskSpaceBytes above the floor, so that " +
              "/health reports Degraded first, or lower MinFreeDiskBytes (0 turns the floor off)."
            : null;

    /// <summary>The refusal for an address other machines can reach without a key.</summary>
    public static string ExposedWithoutKey(IEnumerable<string> exposed) =>
        $"{string.Join(", ", exposed)} is reachable from other machines and no API key is configured. " +
        $"Set {StateServerOptions.ApiKeyVariable} (or {StateServerOptions.Section}:ApiKey) so that every route except /health, /login " +
        $"and the dashboard's files requires 'Authorization: Bearer <key>', or listen on loopback only (--urls {StateServerOptions.DefaultUrl}).";

    /// <summary>Throws one exception listing every problem, when there is any.</summary>
    public static void ThrowIfAny(IReadOnlyList<string> problems)
    {
        if (problems.Count == 1)
        {
            throw new ServerStartupException("Refusing to start: " + problems[0]);
        }

        if (problems.Count > 1)
        {
            throw new ServerStartupException($"Refusing to start ({problems.Count} problems):" +
                string.Concat(problems.Select(p => Environment.NewLine + "  - " + p)));
        }
    }

    private static T? Bind<T>(IConfiguration configuration, string section, List<string> problems)
        where T : class, new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options);
            return options;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            // "Failed to convert configuration value 'banana' at 'StatePersistence:AutosaveInterval' to type 'System.TimeSpan'."
            string hint = ex.Message.Contains("System.TimeSpan", StringComparison.Ordinal) ? " (write a duration as hh:mm:ss, such as 00:00:30)" : "";
            problems.Add(ex.Message.TrimEnd('.') + hint + ".");
            return null;
        }
    }
}
