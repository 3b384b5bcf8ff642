using System.Text.RegularExpressions;

namespace StatePersistence.Redaction;

/// <summary>
/// The built-in secret patterns, source-generated, in the order they are applied: the precise, prefixed formats
/// first (a PEM block, a JWT, a provider's token), then the contextual ones (a URL's password, an Authorization header,
/// a connection string), then the generic <c>password=</c> / <c>secret:</c> / <c>token</c> / <c>api_key</c>
/// assignments, which leave a value already replaced by an earlier pattern alone. Every quantifier is over a character
/// class its neighbour cannot start with, so the backtracking engine scans each text in linear time; the match timeout
/// is the backstop.
/// </summary>
internal static partial class BuiltInSecretPatterns
{
    private const int TimeoutMs = 2000;
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;
    private const RegexOptions IgnoreCase = Options | RegexOptions.IgnoreCase;

    // An assignment of a secret to a key ending in one of the family's keywords, in the three shapes logs show:
    //   key=value, key="value", key='value'           (shell, .env, query strings, CLI flags, INI)
    //   "key": "value", 'key': 'value'                (JSON, Python reprs)
    //   key: value, key: "value"                      (YAML, HTTP headers: the key starts its line, and an unquoted
    //                                                  value must end it, so "the password: see below" in prose
    //                                                  survives, and "token:token:..." is scanned once, not per key)
    //   --key value, -key "value"                     (command-line flags: the key starts with '-' after a space)
    // Only the value (group "secret") is replaced: "password=" stays. A shell variable ($DB_PASSWORD, ${TOKEN}) is a
    // reference to a secret, not one, and stays too.
    private const string Assignment =
        """(?:["']?[ \t]*=[ \t]*(?:"(?<secret>[^"\r\n]{1,512})"|'(?<secret>[^'\r\n]{1,512})'|(?!\$[{(A-Za-z_])(?<secret>[^\s"'&;,<>(){}\[\]]{1,512}))""" +
        """|["'][ \t]*:[ \t]*(?:"(?<secret>(?:[^"\\\r\n]|\\.){1,1024})"|'(?<secret>[^'\r\n]{1,512})')""" +
        """|(?<=^[ \t]*(?:-[ \t]+)?[A-Za-z0-9_.-]{1,64})[ \t]*:[ \t]*(?:"(?<secret>(?:[^"\\\r\n]|\\.){1,1024})"|'(?<secret>[^'\r\n]{1,512})'""" +
        """|(?<secret>(?>[^\s"'#,:{}\[\]][^\s"',{}\[\]]{0,511}))(?=[ \t]*(?:\#|,|\}|\r?$)))""" +
        """|(?<=(?:^|\s)--?[A-Za-z0-9_.-]{1,64})[ \t]+(?:"(?<secret>[^"\r\n]{1,512})"|'(?<secret>[^'\r\n]{1,512})'|(?![-$])(?<secret>[^\s"']{1,512})))""";

    /// <summary>
    /// Every built-in kind with its pattern, in the order applied, and the anchors of the pattern: strings one of which
    /// every match contains (compared ignoring case when the pattern ignores case), so a text holding none of them is
    /// not scanned by it (see <see cref="SecretRedactor"/>).
    /// </summary>
    public static IReadOnlyList<(string Kind, Regex Regex, SecretAnchors Anchors)> All { get; } =
    [
        ("private-key", PrivateKey(), SecretAnchors.Exact("-----BEGIN")),
        ("jwt", Jwt(), SecretAnchors.Exact("eyJ")),
        ("github-token", GitHubToken(), SecretAnchors.Exact("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
        ("gitlab-token", GitLabToken(), SecretAnchors.Exact("glpat-", "gldt-", "glptt-", "glrt-", "glsoat-", "glcbt-", "glft-", "glimt-", "gloas-")),
        ("slack-token", SlackToken(), SecretAnchors.Exact("xox")),
        ("slack-webhook", SlackWebhook(), SecretAnchors.Exact("https://hooks.slack.com/")),
        ("anthropic-api-key", AnthropicKey(), SecretAnchors.Exact("sk-ant-")),
        ("openai-api-key", OpenAiKey(), SecretAnchors.Exact("sk-")),
        ("huggingface-token", HuggingFaceToken(), SecretAnchors.Exact("hf_")),
        ("google-api-key", GoogleApiKey(), SecretAnchors.Exact("AIza")),
        ("aws-access-key-id", AwsAccessKeyId(), SecretAnchors.Exact("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA")),
        ("aws-secret-access-key", AwsSecretAccessKey(), SecretAnchors.AnyCase("secret")),
        ("azure-storage-key", AzureStorageKey(), SecretAnchors.AnyCase("AccountKey", "SharedAccessKey")),
        ("azure-sas-token", AzureSasSignature(), SecretAnchors.AnyCase("sig=")),
        ("url-password", UrlPassword(), SecretAnchors.Exact("://")),
        ("bearer-token", BearerToken(), SecretAnchors.AnyCase("Bearer")),
        ("basic-auth", BasicAuth(), SecretAnchors.AnyCase("Authorization")),
        ("connection-string-password", ConnectionStringPassword(), SecretAnchors.AnyCase("password", "pwd")),
        ("password", PasswordAssignment(), SecretAnchors.AnyCase("pass")),
        ("secret", SecretAssignment(), SecretAnchors.AnyCase("secret")),
        ("token", TokenAssignment(), SecretAnchors.AnyCase("token")),
        ("api-key", ApiKeyAssignment(), SecretAnchors.AnyCase("key")),
    ];

    // A PEM private key (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP), also inside a JSON string (a GCP service-account
    // file: "\n" escapes) and also without its END line (a key cut off by the end of a log append). The body cannot
    // contain "-----", so it stops at the END line or the next PEM boundary.
    [GeneratedRegex("""-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.()]|\\[nrt]|-(?!----)){0,65536}(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?""", Options, TimeoutMs)]
    private static partial Regex PrivateKey();

    // Header and payload are base64url JSON objects ("{\"" encodes as "eyJ"); the signature may be empty (alg none).
    [GeneratedRegex("""(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*""", Options, TimeoutMs)]
    private static partial Regex Jwt();

    // Classic (ghp_ personal, gho_ OAuth, ghu_ user-to-server, ghs_ server-to-server, ghr_ refresh) and fine-grained.
    [GeneratedRegex("""(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})""", Options, TimeoutMs)]
    private static partial Regex GitHubToken();

    // Personal, deploy, pipeline trigger, runner, SCIM, CI build, feed, incoming mail and OAuth application tokens.
    [GeneratedRegex("""(?<![A-Za-z0-9_-])gl(?:pat|dt|ptt|rt|soat|cbt|ft|imt|oas)-[A-Za-z0-9_-]{20,}""", Options, TimeoutMs)]
    private static partial Regex GitLabToken();

    // Bot, user, app-level, configuration and refresh tokens.
    [GeneratedRegex("""(?<![A-Za-z0-9_-])xox[abeposr]-[A-Za-z0-9-]{10,}""", Options, TimeoutMs)]
    private static partial Regex SlackToken();

    [GeneratedRegex("""https://hooks\.slack\.com/(?:services|workflows|triggers)/(?<secret>[A-Za-z0-9/_-]{20,})""", Options, TimeoutMs)]
    private static partial Regex SlackWebhook();

    [GeneratedRegex("""(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}""", Options, TimeoutMs)]
    private static partial Regex AnthropicKey();

    // Legacy (48 characters), project, service-account and admin keys; at least 32 characters with a digit, so a
    // hyphenated name that happens to start with "sk-" survives.
    [GeneratedRegex("""(?<![A-Za-z0-9_-])sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{32,}""", Options, TimeoutMs)]
    private static partial Regex OpenAiKey();

    [GeneratedRegex("""(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}""", Options, TimeoutMs)]
    private static partial Regex HuggingFaceToken();

    // Google Cloud / Firebase / Gemini API keys.
    [GeneratedRegex("""(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])""", Options, TimeoutMs)]
    private static partial Regex GoogleApiKey();

    // Long-term (AKIA) and temporary (ASIA) access key ids and the other IAM unique-id prefixes.
    [GeneratedRegex("""(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])""", Options, TimeoutMs)]
    private static partial Regex AwsAccessKeyId();

    // The 40-character secret, recognised by its key: aws_secret_access_key (CLI config, env, and `aws configure set
    // aws_secret_access_key ...` with a space), SecretAccessKey (JSON).
    [GeneratedRegex("""(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?(?:[ \t]*[:=][ \t]*|[ \t]+)["']?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])""", IgnoreCase, TimeoutMs)]
    private static partial Regex AwsSecretAccessKey();

    // Storage account keys in connection strings and Service Bus / Event Hubs shared access keys (base64).
    [GeneratedRegex("""(?<![A-Za-z0-9])(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*(?<secret>[A-Za-z0-9+/]{20,}={0,2})""", IgnoreCase, TimeoutMs)]
    private static partial Regex AzureStorageKey();

    // The signature of a shared access signature (SAS) URL or connection string; the rest of the SAS stays readable.
    [GeneratedRegex("""(?<=[?&;])sig=(?<secret>[A-Za-z0-9%+/]{20,}(?:=|%3D){0,2})""", IgnoreCase, TimeoutMs)]
    private static partial Regex AzureSasSignature();

    // scheme://user:password@host: only the password goes; a URL without one (http://host:8080/) has no '@' after the
    // port, so it survives.
    [GeneratedRegex("""(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/?#@]{1,256}:(?<secret>[^\s/?#@]{1,256})@""", Options, TimeoutMs)]
    private static partial Regex UrlPassword();

    // "Authorization: Bearer ...", also in curl commands and JSON dumps; the token must contain a digit, so prose
    // ("Bearer authentication") survives.
    [GeneratedRegex("""(?<![A-Za-z0-9])Bearer[ \t]+(?<secret>(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*)""", IgnoreCase, TimeoutMs)]
    private static partial Regex BearerToken();

    // Basic credentials (base64 of user:password) after an Authorization header only: "Basic" alone is an English word.
    [GeneratedRegex("""Authorization["']?[ \t]*[:=][ \t]*["']?Basic[ \t]+(?<secret>[A-Za-z0-9+/]{4,}={0,2})""", IgnoreCase, TimeoutMs)]
    private static partial Regex BasicAuth();

    // Password=...; in an ADO.NET / Npgsql / ODBC connection string: the value may contain spaces, and ends at ';'. It
    // stops at the next '=' (base64 padding aside), so a text of many "password=" scans each character about once; a
    // password with an '=' inside is left to the generic assignment below.
    [GeneratedRegex("""(?<![A-Za-z0-9_])(?:password|pwd)[ \t]*=[ \t]*(?<secret>(?>[^;'"\r\n=]{1,256})={0,2})(?=;)""", IgnoreCase, TimeoutMs)]
    private static partial Regex ConnectionStringPassword();

    [GeneratedRegex("pass(?:word|wd|phrase)" + Assignment, IgnoreCase | RegexOptions.Multiline, TimeoutMs)]
    private static partial Regex PasswordAssignment();

    [GeneratedRegex("secret(?:[_-]?(?:access[_-]?)?key)?" + Assignment, IgnoreCase | RegexOptions.Multiline, TimeoutMs)]
    private static partial Regex SecretAssignment();

    // Keys that end in "token" (GITHUB_TOKEN, access_token, csrftoken); "max_tokens" and "token_count" do not.
    [GeneratedRegex("token" + Assignment, IgnoreCase | RegexOptions.Multiline, TimeoutMs)]
    private static partial Regex TokenAssignment();

    [GeneratedRegex("(?:api|access|auth)[_-]?key" + Assignment, IgnoreCase | RegexOptions.Multiline, TimeoutMs)]
    private static partial Regex ApiKeyAssignment();
}
