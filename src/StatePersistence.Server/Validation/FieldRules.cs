using StatePersistence.Model;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Validation;

/// <summary>
/// The rules for the fields the server knows, decided once and applied on every route that takes them (POST, PUT,
/// PATCH): each failure is a 400 naming the field. Absent and <c>null</c> mean the same thing; a given text is
/// never blank; statuses and session types are from their sets or are tokens.
/// </summary>
internal static class FieldRules
{
    /// <summary>The longest session status or type.</summary>
    public const int MaxTokenLength = 64;

    /// <summary>A required text: present and not blank.</summary>
    public static string Required(string field, string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? throw ApiProblemException.InvalidField(field, value is null
                ? $"The field '{field}' is required."
                : $"The field '{field}' must not be blank.")
            : value;

    /// <summary>An optional text: absent, or not blank.</summary>
    public static void Optional(string field, string? value)
    {
        if (value is not null)
        {
            Required(field, value);
        }
    }

    /// <summary>A task status: one of the five.</summary>
    public static void TaskStatus(string field, string? status)
    {
        if (status is not null && !TaskStatuses.IsKnown(status))
        {
            throw ApiProblemException.InvalidField(field,
                $"Unknown status '{Shorten(status)}'; use one of: {string.Join(", ", TaskStatuses.All)}.");
        }
    }

    /// <summary>
    /// A session's status or type, which the application chooses (<c>active</c>, <c>closed</c>, <c>interactive</c>):
    /// 1 to 64 ASCII letters, digits, '_' and '-', so that it can be filtered on and shown without escaping.
    /// </summary>
    public static void Token(string field, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length is 0 or > MaxTokenLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw ApiProblemException.InvalidField(field,
                $"Invalid {field} '{Shorten(value)}': use 1 to {MaxTokenLength} ASCII letters, digits, '_' and '-' (such as 'active' or 'closed').");
        }
    }

    /// <summary>A task log entry as a client may send it in a whole task (<c>PUT</c>): level, type and message.</summary>
    public static void LogEntries(IReadOnlyList<TaskLogEntry?> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            TaskLogEntry entry = entries[i] ?? throw ApiProblemException.InvalidField($"logs[{i}]", $"The log entry logs[{i}] is null.");
            EntryField(i, "level", entry.Level);
            EntryField(i, "type", entry.Type);
            EntryField(i, "message", entry.Message);
        }
    }

    // The field's name is built only for the error: a PUT of a task with a long log would otherwise make three
    // strings per entry to throw away.
    private static void EntryField(int index, string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Required($"logs[{index}].{name}", value);
        }
    }

    private static string Shorten(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
