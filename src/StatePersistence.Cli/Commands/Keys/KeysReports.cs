using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Commands.Keys;

/// <summary>What <c>statectl keys create|rotate|retire --json</c> prints: the key file, the key and what happened to it.</summary>
internal sealed record KeyChangeReport(string KeyFile, string KeyId, string Change, string? PreviousKeyId = null);

/// <summary>What <c>statectl keys list --json</c> prints.</summary>
internal sealed record KeyListReport(string KeyFile, string StateDirectory, IReadOnlyList<KeyListEntry> Keys, long ClearFiles, IReadOnlyList<string> DamagedFiles,
    IReadOnlyList<string> BrokenLinks);

/// <summary>
/// One key in <see cref="KeyListReport"/>; <c>missing</c> is a key id the data names that the file lacks.
/// <see cref="MovedAside"/>: files moved aside (<c>*.corrupt.*</c>) sealed with it, not in <see cref="Payloads"/> or <see cref="Files"/>.
/// </summary>
internal sealed record KeyListEntry(string Id, string State, DateTimeOffset? CreatedAt, long Payloads, long Files, long MovedAside, long RolledBack);

/// <summary>What <c>statectl keys list --store postgres --json</c> prints: the store as a URL without credentials, rows per key, rows in the clear.</summary>
internal sealed record KeyListPostgresReport(string KeyFile, string Database, IReadOnlyList<KeyRowsEntry> Keys, KeyRows Clear);

/// <summary>One key in <see cref="KeyListPostgresReport"/>: the rows of each table sealed with it; <c>missing</c> is a key id the rows name that the file lacks.</summary>
internal sealed record KeyRowsEntry(string Id, string State, DateTimeOffset? CreatedAt, long Items, long SessionLogRows, long Reports, long Changes, long TaskArchives, long Total);

/// <summary>Rows of each table of a PostgreSQL store.</summary>
internal sealed record KeyRows(long Items, long SessionLogRows, long Reports, long Changes, long TaskArchives, long Total);

/// <summary>What <c>statectl keys verify --json</c> prints.</summary>
internal sealed record KeyVerifyReport(string StateDirectory, string KeyFile, bool Ok, IReadOnlyList<string> Problems);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(KeyChangeReport))]
[JsonSerializable(typeof(KeyListReport))]
[JsonSerializable(typeof(KeyListPostgresReport))]
[JsonSerializable(typeof(KeyVerifyReport))]
internal sealed partial class KeysJsonContext : JsonSerializerContext;
