using System.Reflection;
using StatePersistence.Encryption;
using StatePersistence.Hosting;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// The server's own command-line options in one place: the mappings the command line is read with, the list the refusal
/// of an unknown option ends with (<see cref="UnknownSwitches"/>), and the text <c>--help</c> prints, so that the three
/// cannot drift apart. <c>--help</c> and <c>--version</c> answer before anything starts: no state directory, no port.
/// </summary>
internal static class CommandLineUsage
{
    private const string StatePathVariable = "STATE_PATH";
    private const string VersionSwitch = "--version";

    private static readonly string[] HelpSwitches = ["--help", "-h", "-?"];

    // No --api-key switch on purpose: a key on the command line is visible to every local user in ps.
    private static readonly Option[] Options =
    [
        new("--state-path", "StatePersistence:StatePath", "DIR", $"the file store's state directory (else ${StatePathVariable}, else ./coding-agent-state)"),
        new("--store", StoreSettings.StoreKey, "file|postgres", "the store (default file)"),

        // A path, not a secret: the key file itself is 0600 and kept outside the state directory.
        new("--encryption-key-file", "StatePersistence:Encryption:KeyFile", "FILE", $"the key file that turns encryption at rest on (else ${EncryptionOptions.KeyFileVariable})"),

        // Allowed as the issue asks, but a password in it is visible in ps: STATEPERSISTENCE_CONNECTION_STRING is not.
        new("--connection-string", StoreSettings.ConnectionStringKey, "STRING", $"the PostgreSQL connection string (prefer ${StoreSettings.ConnectionStringVariable}: ps shows it)"),
    ];

    /// <summary>Command-line switches beyond ASP.NET Core's own (<c>--urls</c>, <c>--Section:Key value</c>), to their keys.</summary>
    public static Dictionary<string, string> SwitchMappings() => Options.ToDictionary(o => o.Switch, o => o.Key, StringComparer.Ordinal);

    /// <summary>The sentence a refusal of an argument nothing reads ends with.</summary>
    public static string OptionList { get; } =
        $"Its options are {string.Join(", ", Options.Select(o => o.Switch))}, --urls, and any setting as --Section:Key value " +
        "(--StatePersistence:MaxBackups 5); --help lists them, the README's Configuration table every setting.";

    /// <summary>
    /// What <c>--help</c> or <c>--version</c> among <paramref name="args"/> asks to print (null for neither): the answer
    /// goes to standard output and the process exits 0 without starting.
    /// </summary>
    public static string? Answer(IReadOnlyList<string> args)
    {
        if (args.Any(a => HelpSwitches.Contains(a, StringComparer.Ordinal)))
        {
            return Text();
        }

        return args.Contains(VersionSwitch, StringComparer.Ordinal) ? Version() + Environment.NewLine : null;
    }

    private static string Version() =>
        typeof(CommandLineUsage).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(CommandLineUsage).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static string Text()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("Usage: StatePersistence.Server [options]   (from the sources: dotnet run --project src/StatePersistence.Server -- [options])")
            .AppendLine()
            .AppendLine("The state server: the HTTP API, dashboard and event stream over a state directory or PostgreSQL.")
            .AppendLine()
            .AppendLine("Options:");
        Line(text, "--urls URLS", $"where to listen, ;-separated (else $ASPNETCORE_URLS, else {StateServerOptions.DefaultUrl})");
        foreach (Option option in Options)
        {
            Line(text, $"{option.Switch} {option.Value}", $"{option.Meaning}; the setting {option.Key}");
        }

        Line(text, "--Section:Key VALUE", "any setting, e.g. --StatePersistence:MaxBackups 5");
        Line(text, string.Join(", ", HelpSwitches), "this text");
        Line(text, VersionSwitch, "the build's version");
        text.AppendLine()
            .AppendLine("Environment variables:");
        Line(text, StatePathVariable, "the state directory, when no --state-path or StatePath setting is given");
        Line(text, StateServerOptions.ApiKeyVariable, "the API key (at least 32 characters; never on the command line)");
        Line(text, EncryptionOptions.KeyFileVariable, "the key file, when no --encryption-key-file or KeyFile setting is given");
        Line(text, EnvironmentKeyProvider.DefaultVariable, "the keys without a file: <key id>:<base64 of 32 bytes>");
        Line(text, StoreSettings.ConnectionStringVariable, "the PostgreSQL connection string, when no --connection-string or setting is given");
        Line(text, "OTEL_EXPORTER_OTLP_ENDPOINT", "where to send traces, metrics and logs over OTLP (and the other OTEL_*)");
        return text.AppendLine()
            .AppendLine($"Configuration: the section \"{StatePersistenceHostingDefaults.ConfigurationSection}\" (the server's own settings under \"{StateServerOptions.Section}\")")
            .AppendLine($"of appsettings.json beside the binary, then environment variables with __ for : ({StatePersistenceHostingDefaults.ConfigurationSection}__MaxBackups=5),")
            .AppendLine("then the command line; later sources win. An option, or a key under the section, that nothing reads stops the")
            .AppendLine("start (exit 2). Every setting: the README's Configuration table.")
            .ToString();
    }

    private static void Line(System.Text.StringBuilder text, string name, string meaning) =>
        text.Append("  ").Append(name.PadRight(36)).AppendLine(meaning);

    private sealed record Option(string Switch, string Key, string Value, string Meaning);
}
