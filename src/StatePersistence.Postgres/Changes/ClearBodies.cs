using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// How a clear body is written: a text parameter from its UTF-8 bytes, read as <c>jsonb</c>, without a task's or
/// session's revision (its own column holds it), the application's own properties as they are (one of them may be
/// called revision). For a statement of its own (the re-encryption's rewrites) and for the rows of a commit
/// (<see cref="GroupStatement"/>).
/// </summary>
internal static class ClearBodies
{
    /// <summary>The body parameter (<c>$</c><paramref name="parameter"/>) of <paramref name="row"/> as <c>jsonb</c>.</summary>
    public static string Body(ItemRow row, int parameter) =>
        row.Kind == ChangeRows.Extras ? Jsonb($"${parameter}") : WithoutRevision(Jsonb($"${parameter}"));

    /// <summary>
    /// The same for a row whose kind is in the column <paramref name="kind"/> and whose UTF-8 body is the <c>bytea</c>
    /// <paramref name="utf8"/> (null for a deletion or a sealed row).
    /// </summary>
    public static string Body(string kind, string utf8)
    {
        string body = Jsonb($"convert_from({utf8}, 'UTF8')");
        return $"CASE WHEN {utf8} IS NULL THEN NULL WHEN {kind} = '{ChangeRows.Extras}' THEN {body} ELSE {WithoutRevision(body)} END";
    }

    /// <summary>
    /// A JSON text parameter from its UTF-8 bytes (Npgsql writes them as the text's bytes, so no string is built):
    /// what a <c>$n::jsonb</c> reads.
    /// </summary>
    public static NpgsqlParameter Json(byte[]? utf8) => new() { Value = (object?)utf8 ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static string Jsonb(string text) => $"{text}::jsonb";

    private static string WithoutRevision(string jsonb) => $"{jsonb} - 'revision'";
}
