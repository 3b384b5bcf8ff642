namespace StatePersistence.Encryption;

/// <summary>
/// The text of an <see cref="ArgumentException"/> for an operator: its message without the
/// " (Parameter 'keys')" .NET appends, which names a constructor's parameter, not anything in the key file or variable.
/// </summary>
internal static class ArgumentProblem
{
    public static string Text(ArgumentException ex) =>
        ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
}
