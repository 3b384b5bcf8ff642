using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>
/// The options the service takes when it is built rather than when it starts (the commit pipeline's durability, the
/// event ring's size, the compiled redaction patterns). Options may still be set until the start, so the start compares
/// them: one changed since is refused naming it, where it was silently ignored (a save run unsynced under
/// <c>Durability = Full</c>, text redacted with redaction turned off).
/// </summary>
internal sealed record SettingsTakenWhenBuilt(Durability Durability, int EventHistory, bool RedactionEnabled, string RedactionPatterns)
{
    public static SettingsTakenWhenBuilt Of(StatePersistenceOptions options) => new(options.Durability, options.EventHistory,
        options.Redaction.Enabled, string.Join('\n', options.Redaction.Patterns.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));

    /// <summary>A problem for each of these settings <paramref name="options"/> holds another value of now.</summary>
    public IEnumerable<string> Changes(StatePersistenceOptions options)
    {
        SettingsTakenWhenBuilt now = Of(options);
        if (now.Durability != Durability)
        {
            yield return Changed(nameof(StatePersistenceOptions.Durability), Durability, now.Durability);
        }

        if (now.EventHistory != EventHistory)
        {
            yield return Changed(nameof(StatePersistenceOptions.EventHistory), EventHistory, now.EventHistory);
        }

        if (now.RedactionEnabled != RedactionEnabled || now.RedactionPatterns != RedactionPatterns)
        {
            yield return "Redaction changed after the service was built; the service redacts as it was built to: set it before creating the service.";
        }
    }

    private static string Changed<T>(string setting, T built, T now) =>
        $"{setting} changed after the service was built (from {built} to {now}); the service uses the value it was built with: set it before creating the service.";
}
