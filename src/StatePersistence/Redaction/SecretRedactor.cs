using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using StatePersistence.Errors;

namespace StatePersistence.Redaction;

/// <summary>
/// Replaces the secrets in a text with <c>[REDACTED:kind]</c> before it is stored: the built-in patterns, then the
/// application's (<see cref="RedactionOptions.Patterns"/>). Counts each replacement by kind; the secret itself goes
/// nowhere (not into the count's tags, a log, an event or an error).
/// </summary>
internal sealed class SecretRedactor
{
    private const string SecretGroup = "secret";
    private const string MarkerStart = "[REDACTED:";

    private readonly SecretPattern[] _patterns;

    private SecretRedactor(SecretPattern[] patterns) => _patterns = patterns;

    /// <summary>A redactor that changes nothing (redaction switched off).</summary>
    public static SecretRedactor Off { get; } = new([]);

    /// <summary>Whether any pattern runs.</summary>
    public bool Enabled => _patterns.Length > 0;

    /// <summary>The redactor <paramref name="options"/> ask for, counting into <paramref name="redactions"/> (may be null).</summary>
    public static SecretRedactor Create(RedactionOptions options, Counter<long>? redactions)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return Off;
        }

        // An application's pattern has no anchors: it runs on every text.
        IEnumerable<(string Kind, Regex Regex, SecretAnchors? Anchors)> custom = options.Patterns
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (p.Key, Compile(p.Value), (SecretAnchors?)null));
        IEnumerable<(string Kind, Regex Regex, SecretAnchors? Anchors)> builtIn = BuiltInSecretPatterns.All.Select(p => (p.Kind, p.Regex, (SecretAnchors?)p.Anchors));
        return new SecretRedactor([.. builtIn.Concat(custom).Select(p => new SecretPattern(p.Kind, p.Regex, p.Anchors, redactions))]);
    }

    /// <summary>
    /// Compiles an application's pattern: with the non-backtracking engine when the pattern allows it (no lookaround
    /// or backreference), so no input can make it slow; otherwise with the backtracking engine and the match timeout.
    /// </summary>
    public static Regex Compile(string pattern)
    {
        const RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;
        try
        {
            return new Regex(pattern, options | RegexOptions.NonBacktracking, RedactionOptions.MatchTimeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, options | RegexOptions.Compiled, RedactionOptions.MatchTimeout);
        }
    }

    /// <summary>Whether <paramref name="kind"/> can name a pattern: it appears in markers and as a metric tag.</summary>
    public static bool IsValidKind(string kind) =>
        kind.Length is > 0 and <= 64 && IsKindStart(kind[0]) && kind.All(c => IsKindStart(c) || c is '.' or '_' or '-');

    /// <summary>
    /// <paramref name="text"/> with every secret replaced; the same instance when there was none. A pattern that times
    /// out refuses the text (<paramref name="field"/> names it in the error) rather than let it be stored unscanned.
    /// </summary>
    public string Redact(string text, string field)
    {
        string result = text;
        // A replacement puts in an ASCII marker, so an ASCII text stays ASCII.
        bool ascii = SecretAnchors.IsAscii(text);
        foreach (SecretPattern pattern in _patterns)
        {
            if (pattern.Anchors?.RuleOut(result, ascii) == true)
            {
                continue;
            }

            try
            {
                result = pattern.Regex.Replace(result, pattern.Evaluator);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new StateValidationException(field,
                    $"the secret pattern '{pattern.Kind}' did not finish scanning this text within {RedactionOptions.MatchTimeout.TotalSeconds:0.#} s, so it was not stored (it could not be redacted); nothing was written");
            }
        }

        return result;
    }

    private static bool IsKindStart(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');

    /// <summary>One pattern with its kind, its marker and its replacement, made once.</summary>
    private sealed class SecretPattern
    {
        private readonly string _marker;
        private readonly KeyValuePair<string, object?> _tag;
        private readonly Counter<long>? _redactions;

        public SecretPattern(string kind, Regex regex, SecretAnchors? anchors, Counter<long>? redactions)
        {
            Kind = kind;
            Regex = regex;
            Anchors = anchors;
            _marker = RedactionOptions.Marker(kind);
            _tag = new KeyValuePair<string, object?>("kind", kind);
            _redactions = redactions;
            Evaluator = Replace;
        }

        public string Kind { get; }

        public Regex Regex { get; }

        /// <summary>The strings one of which every match holds; null for an application's pattern.</summary>
        public SecretAnchors? Anchors { get; }

        public MatchEvaluator Evaluator { get; }

        private string Replace(Match match)
        {
            Group secret = match.Groups[SecretGroup];
            if (!secret.Success)
            {
                secret = match;
            }

            if (IsPlaceholder(secret.ValueSpan))
            {
                return match.Value;
            }

            _redactions?.Add(1, _tag);
            int start = secret.Index - match.Index;
            return string.Concat(match.ValueSpan[..start], _marker, match.ValueSpan[(start + secret.Length)..]);
        }

        /// <summary>
        /// A value that is not a secret: one an earlier pattern already replaced, a shell or template variable
        /// (<c>password=$DB_PASSWORD</c>, <c>${TOKEN}</c>), or a mask (<c>********</c>).
        /// </summary>
        private static bool IsPlaceholder(ReadOnlySpan<char> value) =>
            value.StartsWith(MarkerStart, StringComparison.Ordinal)
            || (value.Length > 1 && value[0] == '$' && (char.IsAsciiLetter(value[1]) || value[1] is '{' or '_'))
            || !value.ContainsAnyExcept('*');
    }
}
