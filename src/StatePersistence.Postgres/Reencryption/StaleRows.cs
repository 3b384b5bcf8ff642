using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Reencryption;

/// <summary>
/// The SQL that finds the rows whose payload is not under the re-encryption's target (the active key, or the clear
/// when no key is active), by the key id the schema's <c>payload_key_id</c> reads from the stored envelope: range
/// conditions on the indexed expression (<c>key &lt; k OR key &gt; k</c>, never <c>&lt;&gt;</c>), so PostgreSQL
/// answers them with scans of the <c>*_key_id</c> indexes and a step costs the rows still to rewrite.
/// </summary>
internal sealed class StaleRows(string schema, string? activeKeyId)
{
    /// <summary>The tables re-encrypted, in the order a step takes them: the items first (what the service reads at start).</summary>
    public static readonly string[] Tables = ["items", "session_logs", "reports", "changes"];

    /// <summary>The key id of the target as the envelope stores it; null for the clear.</summary>
    public byte[]? Target { get; } = activeKeyId is null ? null : Encoding.ASCII.GetBytes(activeKeyId);

    /// <summary>The condition on <paramref name="table"/>'s rows, its target's parameter named <c>$1</c>.</summary>
    public string Condition(string table)
    {
        string key = $"{schema}.payload_key_id({PayloadColumn(table)})";
        return (table, Target) switch
        {
            // A task, session or the extras row in the clear keeps its JSON in body (sealed null, no key id).
            ("items", not null) => $"({key} < $1 OR {key} > $1 OR {key} IS NULL)",
            ("items", null) => $"{key} IS NOT NULL",
            // A deletion in the change log holds no payload at all.
            ("changes", not null) => $"({key} < $1 OR {key} > $1 OR ({key} IS NULL AND body IS NOT NULL))",
            ("changes", null) => $"{key} IS NOT NULL",
            // Logs and reports always hold bytes: '' in the clear.
            (_, not null) => $"({key} < $1 OR {key} > $1)",
            (_, null) => $"{key} > ''::bytea",
        };
    }

    /// <summary>The target's parameter (<c>$1</c>), for a statement whose condition names it.</summary>
    public void AddTarget(NpgsqlParameterCollection parameters) =>
        parameters.Add(new NpgsqlParameter { Value = (object?)Target ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });

    /// <summary>How many rows of every table are not under the target, in one statement.</summary>
    public NpgsqlCommand Count(NpgsqlConnection connection)
    {
        string sum = string.Join(" + ", Tables.Select(t => $"(SELECT count(*) FROM {schema}.{t} WHERE {Condition(t)})"));
        var command = new NpgsqlCommand($"SELECT {sum}", connection);
        AddTarget(command.Parameters);
        return command;
    }

    private static string PayloadColumn(string table) => table is "items" or "changes" ? "sealed" : "payload";
}
