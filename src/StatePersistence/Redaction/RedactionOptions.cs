using System.Text.RegularExpressions;

namespace StatePersistence.Redaction;

/// <summary>
/// Secret redaction before storage (<see cref="StatePersistenceOptions.Redaction"/>): session log appends and task log
/// messages are scanned for credentials, each replaced by <c>[REDACTED:kind]</c> before anything is journaled, stored
/// or returned. Bound from <c>StatePersistence:Redaction</c>.
/// </summary>
public sealed class RedactionOptions
{
    /// <summary>The marker a secret is replaced with; <c>{0}</c> is the pattern's kind.</summary>
    public const string MarkerFormat = "[REDACTED:{0}]";

    /// <summary>
    /// How long one pattern may search one text. A pattern that takes longer refuses the write (nothing is stored)
    /// rather than store the text unscanned. The built-in patterns scan in time linear in the text, far below this.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private bool _enabled = true;
    private IDictionary<string, string> _patterns = new Dictionary<string, string>(StringComparer.Ordinal);
    private bool _frozen;

    /// <summary>Whether redaction runs. Default true; <c>StatePersistence:Redaction:Enabled=false</c> stores texts verbatim.</summary>
    public bool Enabled
    {
        get => _enabled;
        set
        {
            ThrowIfFrozen();
            _enabled = value;
        }
    }

    /// <summary>
    /// The application's own patterns, kind → .NET regular expression (<c>StatePersistence:Redaction:Patterns:acme-key</c>),
    /// applied after the built-in ones. A kind is lower-case letters, digits, <c>.</c>, <c>_</c> and <c>-</c> (it
    /// appears in the marker and as the metric's <c>kind</c> tag); when the pattern has a group named <c>secret</c> only
    /// that group is replaced, otherwise the whole match. Read-only once the service has started.
    /// </summary>
    public IDictionary<string, string> Patterns => _patterns;

    /// <summary>The marker for <paramref name="kind"/>: <c>[REDACTED:kind]</c>.</summary>
    public static string Marker(string kind) => string.Format(System.Globalization.CultureInfo.InvariantCulture, MarkerFormat, kind);

    internal void Freeze()
    {
        _frozen = true;
        _patterns = new FrozenPatterns(_patterns);
    }

    /// <summary>Adds this section's problems, each naming the setting (<c>Redaction:Patterns:kind</c>).</summary>
    internal void Validate(List<string> problems)
    {
        foreach ((string kind, string pattern) in _patterns)
        {
            if (!SecretRedactor.IsValidKind(kind))
            {
                problems.Add($"Redaction:Patterns:{kind} is not a valid kind name: use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.");
                continue;
            }

            if (string.IsNullOrEmpty(pattern))
            {
                problems.Add($"Redaction:Patterns:{kind} is empty: give the regular expression to redact.");
                continue;
            }

            try
            {
                Regex regex = SecretRedactor.Compile(pattern);
                if (regex.IsMatch(string.Empty))
                {
                    problems.Add($"Redaction:Patterns:{kind} matches the empty text, so it would redact nothing but mark everywhere: give a pattern that needs at least one character.");
                }
            }
            catch (ArgumentException ex)
            {
                problems.Add($"Redaction:Patterns:{kind} is not a valid regular expression: {ex.Message}");
            }
        }
    }

    private void ThrowIfFrozen()
    {
        if (_frozen)
        {
            throw new InvalidOperationException(
                "StatePersistenceOptions.Redaction cannot change once the service using these options has started; set it before StartAsync (or create the service with new options).");
        }
    }
}
