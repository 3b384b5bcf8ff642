using System.Text.Json.Serialization;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// What <c>--json</c> prints on standard output when a command fails. <c>keptEdit</c>: the file holding the edit of a
/// <c>tasks edit</c> that saved nothing (refused, the editor failed, interrupted), so a script finds it without
/// reading the message; left out of every other failure.
/// </summary>
internal sealed record CommandError(string Error, int ExitCode,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? KeptEdit = null);
