using System.CommandLine;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>The options every command takes.</summary>
internal static partial class CommonOptions
{
    /// <summary>The environment variable the server reads its state directory from, read here the same way.</summary>
    public const string StatePathVariable = "STATE_PATH";

    /// <summary>
    /// The server's setting as an environment variable (<c>StatePersistence:StatePath</c>), which it takes before
    /// <c>STATE_PATH</c>: read here the same way, so statectl opens the directory the server on this machine uses.
    /// </summary>
    public const string StatePathSettingVariable = "StatePersistence__StatePath";

    /// <summary>The server's default state directory, relative to where the command runs.</summary>
    public const string DefaultStatePath = "./coding-agent-state";

    /// <summary>
    /// <c>--state-path DIR</c>: default <c>StatePersistence__StatePath</c>, then <c>STATE_PATH</c>, then
    /// <c>./coding-agent-state</c>.
    /// </summary>
    public static Option<string> StatePath { get; } = CreateStatePath();

    /// <summary><c>--json</c>: machine-readable output on standard output.</summary>
    public static Option<bool> Json { get; } = new("--json")
    {
        Description = "Write machine-readable JSON to standard output instead of tables.",
        Recursive = true,
    };

    private static Option<string> CreateStatePath()
    {
        var option = new Option<string>("--state-path")
        {
            Description = $"The state directory (default: ${StatePathSettingVariable}, then ${StatePathVariable}, then {DefaultStatePath}).",
            HelpName = "DIR",
            Recursive = true,
            DefaultValueFactory = _ => DefaultStatePathFromEnvironment(),
        };

        // Checked while parsing, so a bad value is bad usage (exit 2, named) before any command builds its context
        // from it (Path.GetFullPath throws on an empty path or one holding a NUL).
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is not { } path)
            {
                return;
            }

            if (path.Length == 0)
            {
                result.AddError($"--state-path is empty: give the state directory, or leave the option out for ${StatePathSettingVariable}, then ${StatePathVariable}, then {DefaultStatePath}.");
            }
            else if (path.Contains('\0', StringComparison.Ordinal))
            {
                result.AddError("--state-path holds a NUL character, which no path may hold.");
            }
            else if (LooksLikeConnectionString(path))
            {
                // Not echoed: a connection string may hold a password, and the message goes to terminals and logs.
                result.AddError("--state-path is given a PostgreSQL connection string, not a directory (it is not shown here: it may hold a password). "
                    + "statectl reads and writes state directories (the file store); 'tasks list', 'tasks show', 'verify', 'du', 'health', 'keys list', 'keys retire --remove', 'keys retire --revoke', 'migrate status' and 'archive list' read a PostgreSQL store, 'tasks edit' mends a task in it, 'migrate apply' upgrades its schema, 'archive' and 'archive restore' move tasks into and out of its archive, 'import' fills an empty one and 'export' copies one, with --store postgres and --connection-string (or STATEPERSISTENCE_CONNECTION_STRING); otherwise use the server's /health and /metrics, psql and pg_dump.");
            }
        });
        return option;
    }

    /// <summary>A <c>postgres://</c> URL, or Npgsql's <c>Key=Value;...</c> form naming a host, user, password or database.</summary>
    private static bool LooksLikeConnectionString(string path) =>
        path.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || ConnectionStringKey().IsMatch(path);

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|;)\s*(host|server|port|username|user id|userid|password|database)\s*=[^;]*(;|$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex ConnectionStringKey();

    // As the server resolves it (StatePersistenceOptions.ResolveStatePath): a blank value is unset, not a directory named " ".
    private static string DefaultStatePathFromEnvironment() =>
        new[] { StatePathSettingVariable, StatePathVariable }.Select(Environment.GetEnvironmentVariable)
            .FirstOrDefault(path => !string.IsNullOrWhiteSpace(path)) ?? DefaultStatePath;
}
