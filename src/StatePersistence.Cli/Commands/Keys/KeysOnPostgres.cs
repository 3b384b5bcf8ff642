using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Keys;

/// <summary>
/// <c>keys list</c>, <c>keys retire --remove</c> and <c>keys retire --revoke</c> for a PostgreSQL store (<see cref="StoreChoice"/>): the rows each key
/// still seals, by table (<see cref="PostgresKeyUsage"/>), where a state directory counts payloads and files. The
/// rotation procedure removes an old key once its rows reach 0, so the removal measures the store itself, under the key
/// file's lock, and refuses while any row remains; so does a revocation, as rows under a revoked key no longer open.
/// </summary>
internal static class KeysOnPostgres
{
    public static int List(CommandContext context, string file, PostgresKeyUsage usage)
    {
        EncryptionKeyRing ring = EncryptionKeyFile.Read(file);
        var rows = ring.Keys.Select(k => Entry(k.Id, KeysCommand.EncryptionKeyStateName(k.State), k.CreatedAt, usage.For(k.Id))).ToList();

        // Rows sealed with a key the file lacks: an instance reading them would stop on it.
        rows.AddRange(usage.ByKey.Keys.Where(id => ring.Find(id) is null).Order(StringComparer.Ordinal)
            .Select(id => Entry(id, "missing", null, usage.For(id))));
        string location = usage.Location ?? "";
        if (context.Json)
        {
            context.WriteJson(new KeyListPostgresReport(file, location, rows, Counts(usage.Clear)), KeysJsonContext.Default.KeyListPostgresReport);
        }
        else
        {
            // The key id whole on one line: an operator copies it into 'keys retire'. When it was created is in --json.
            // The archives' column only when there are archives: the key id must fit whole on an 80-column terminal.
            bool archives = usage.Clear.TaskArchives > 0 || rows.Exists(r => r.TaskArchives > 0);
            var table = new Table().AddColumn(new TableColumn("key").NoWrap()).AddColumn(new TableColumn("state").NoWrap());
            foreach (string column in archives ? new[] { "items", "logs", "reports", "changes", "archives", "total" } : ["items", "logs", "reports", "changes", "total"])
            {
                table.AddColumn(new TableColumn(column).RightAligned().NoWrap());
            }

            foreach (KeyRowsEntry row in rows)
            {
                string[] counts = [KeysCommand.Number(row.Items), KeysCommand.Number(row.SessionLogRows), KeysCommand.Number(row.Reports), KeysCommand.Number(row.Changes),
                    .. archives ? [KeysCommand.Number(row.TaskArchives)] : Array.Empty<string>(), KeysCommand.Number(row.Total)];
                table.AddRow([Markup.Escape(row.Id), row.State == "missing" ? "[red]missing[/]" : row.State, .. counts]);
            }

            table.Caption($"{Markup.Escape(file)}; {Markup.Escape(location)}; {KeysCommand.Number(usage.Clear.Total)} row(s) hold data in the clear");
            context.Console.Write(table);
        }

        return rows.Exists(r => r.State == "missing") ? ExitCodes.Failed : ExitCodes.Success;
    }

    /// <summary>Removes <paramref name="keyId"/> once no row of the store is sealed with it, measured under the key file's lock.</summary>
    public static void Remove(string file, string keyId, StoreChoice store) =>
        EncryptionKeyOperations.Remove(file, keyId, () => StillSealed(store, keyId) is { } rows
            ? $"{rows}. Let the instances' background re-encryption rewrite them first (reencryption_files_remaining 0 on an instance that has read the key file)."
            : null);

    /// <summary>Revokes <paramref name="keyId"/> once no row of the store is sealed with it, measured under the key file's lock.</summary>
    public static void Revoke(string file, string keyId, StoreChoice store) =>
        EncryptionKeyOperations.Revoke(file, keyId, () => StillSealed(store, keyId) is { } rows
            ? $"{rows}: revoked, they could no longer be read, and an instance loading them cannot start. Wait until the instances' background re-encryption has rewritten them (reencryption_files_remaining 0, or 'statectl keys list --store postgres' showing 0 under it); to revoke it now all the same (a compromised key), pass --accept-unreadable."
            : null);

    /// <summary>
    /// What the store still holds sealed with <paramref name="keyId"/>, by table ("The key 'k' still seals 3 row(s) of
    /// the PostgreSQL store ... (...)"); null when no row is. Called under the key file's lock, from a synchronous
    /// callback: this console command has no context to deadlock.
    /// </summary>
    private static string? StillSealed(StoreChoice store, string keyId)
    {
        PostgresKeyUsage usage = MeasureAsync(store, CancellationToken.None).GetAwaiter().GetResult();
        PostgresKeyUsageCount used = usage.For(keyId);
        return used.Total == 0
            // The count is the primary's: a synchronous standby may not have the rewrites yet (an unconfirmed commit).
            ? store.ReadAsync((connectionString, schema) => Postgres.Reencryption.UnconfirmedRewrites.StandbyBehindAsync(connectionString, schema, CancellationToken.None))
                .GetAwaiter().GetResult() is { } behind ? $"The key '{keyId}' seals no row of the PostgreSQL store {usage.Location} on the primary. {behind}" : null
            : $"The key '{keyId}' still seals {used.Total} row(s) of the PostgreSQL store {usage.Location} ({used.Items} items, {used.SessionLogRows} session log rows, {used.Reports} reports, {used.Changes} changes, {used.TaskArchives} task archives)";
    }

    /// <summary>Measures the PostgreSQL store <paramref name="store"/> names (<see cref="PostgresKeyUsage"/>).</summary>
    public static Task<PostgresKeyUsage> MeasureAsync(StoreChoice store, CancellationToken cancellationToken) =>
        store.ReadAsync((connectionString, schema) => PostgresKeyUsage.MeasureAsync(connectionString, schema, cancellationToken));

    private static KeyRowsEntry Entry(string id, string state, DateTimeOffset? createdAt, PostgresKeyUsageCount count) =>
        new(id, state, createdAt, count.Items, count.SessionLogRows, count.Reports, count.Changes, count.TaskArchives, count.Total);

    private static KeyRows Counts(PostgresKeyUsageCount count) => new(count.Items, count.SessionLogRows, count.Reports, count.Changes, count.TaskArchives, count.Total);
}
