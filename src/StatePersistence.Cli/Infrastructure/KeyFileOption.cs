using System.CommandLine;
using StatePersistence.Encryption;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// <c>--key-file FILE</c>, taken by every command that reads or writes payloads: a directory the server wrote with
/// <c>--encryption-key-file</c> is sealed, and neither a read nor a write gets anywhere without its keys. Unset, the
/// key source is the server's: <c>STATE_ENCRYPTION_KEY_FILE</c>, then <c>STATE_ENCRYPTION_KEY</c> (see
/// <see cref="CommandContext.StoreOptions"/>). The <c>keys</c> commands have an option of the same name and meaning.
/// </summary>
internal static class KeyFileOption
{
    public static Option<string?> Option { get; } = new Option<string?>("--key-file")
    {
        Description = $"The encryption key file of an encrypted state directory (default: ${EncryptionOptions.KeyFileVariable}).",
        HelpName = "FILE",
        Recursive = true,
    }.NotEmpty("the key file's path");

    /// <summary>Adds the option to <paramref name="command"/> (and, being recursive, to its subcommands).</summary>
    public static Command AddTo(Command command)
    {
        command.Options.Add(Option);
        return command;
    }

    /// <summary>The full path given with <c>--key-file</c>, or null when the command has no such option or it was not given.</summary>
    public static string? From(ParseResult parsed) =>
        parsed.GetResult(Option) is not null && parsed.GetValue(Option) is { Length: > 0 } file ? Path.GetFullPath(file) : null;
}
