using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;
using StatePersistence.Serialization;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>What a command runs with: the state directory, the output mode and where to write.</summary>
internal sealed class CommandContext
{
    private CommandContext(string statePath, string? keyFile, bool json, IAnsiConsole console, TextWriter output, TextWriter error)
    {
        StatePath = statePath;
        KeyFile = keyFile;
        Json = json;
        Console = console;
        Output = output;
        Error = error;
    }

    /// <summary>The state directory, made absolute (errors name the full path).</summary>
    public string StatePath { get; }

    /// <summary>The key file given with <c>--key-file</c> (full path), or null: the server's environment variables then apply.</summary>
    public string? KeyFile { get; }

    /// <summary>Whether <c>--json</c> was given: results go to standard output as one JSON document.</summary>
    public bool Json { get; }

    /// <summary>Tables, trees and progress for people (standard output).</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Standard output.</summary>
    public TextWriter Output { get; }

    /// <summary>Standard error: failures and warnings, never mixed into <c>--json</c> output.</summary>
    public TextWriter Error { get; }

    public static CommandContext From(ParseResult parsed)
    {
        string statePath = Path.GetFullPath(parsed.GetValue(CommonOptions.StatePath) ?? CommonOptions.DefaultStatePath);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        return new CommandContext(statePath, KeyFileOption.From(parsed), parsed.GetValue(CommonOptions.Json), console, System.Console.Out, System.Console.Error);
    }

    /// <summary>
    /// The options the library reads or opens the directory with: the server's defaults without autosave, scrub or
    /// re-encryption (a command's few seconds need none), and the key file of <c>--key-file</c>; without it the key
    /// source is resolved from the environment exactly as the server resolves it. Never <c>AutoMigrate</c>: a command
    /// that opens an older directory to change it (a task edit, an archive) must not migrate it on the way, after a
    /// rollback least of all; it is refused (<c>StateMigrationRequiredException</c>, nothing changed) and only
    /// <c>migrate apply</c> migrates.
    /// </summary>
    public StatePersistenceOptions StoreOptions() => new()
    {
        StatePath = StatePath,
        AutosaveInterval = TimeSpan.Zero,
        ScrubInterval = TimeSpan.Zero,
        ReencryptionInterval = TimeSpan.Zero,
        // No health check runs in a command: no measure of the folders at open either.
        DiskUsageInterval = TimeSpan.Zero,
        AutoMigrate = false,
        Encryption = { KeyFile = KeyFile },
    };

    /// <summary>
    /// The codec payloads are read with: AES-256-GCM over the key source of <see cref="StoreOptions"/>, or null (the
    /// identity codec) when none is given. A missing, loose or invalid key file, or one inside the state directory, is
    /// a <c>StatePersistenceException</c> naming it.
    /// </summary>
    public IPayloadCodec? PayloadCodec() => StoreOptions().ResolvePayloadCodec();

    /// <summary>Writes <paramref name="value"/> as indented JSON on standard output (source-generated metadata).</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        Output.WriteLine(CliJson.Serialize(value, typeInfo));
        Output.Flush();
    }
}
