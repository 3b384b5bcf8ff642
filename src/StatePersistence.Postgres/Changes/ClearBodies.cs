using Npgsql;
using NpgsqlTypes;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// How a clear body is written back by a statement of its own (the re-encryption's rewrites): a text parameter from
/// its UTF-8 bytes, read as <c>jsonb</c>, without a task's or session's revision. <see cref="GroupStatement"/> does
/// the same for the writes of a commit.
/// </summary>
internal static class ClearBodies
{
    /// <summary>
    /// The body parameter (<c>$</c><paramref name="parameter"/>) as <c>jsonb</c>: a task's or session's without its
    /// revision (its own column holds it), the application's own properties as they are (one of them may be called
    /// revision).
    /// </summary>
    public static string Body(ItemRow row, int parameter) =>
        row.Kind == ChangeRows.Extras ? $"${parameter}::jsonb" : $"${parameter}::jsonb - 'revision'";

    /// <summary>
    /// A JSON text parameter from its UTF-8 bytes (Npgsql writes them as the text's bytes, so no string is built):
    /// what a <c>$n::jsonb</c> reads.
    /// </summary>
    public static NpgsqlParameter Json(byte[]? utf8) => new() { Value = (object?)utf8 ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
