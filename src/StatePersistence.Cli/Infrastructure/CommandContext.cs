using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>What a command runs with: the state directory, the output mode and where to write.</summary>
internal sealed class CommandContext
{
    private CommandContext(string statePath, bool json, IAnsiConsole console, TextWriter output, TextWriter error)
    {
        StatePath = statePath;
        Json = json;
        Console = console;
        Output = output;
        Error = error;
    }

    /// <summary>The state directory, made absolute (errors name the full path).</summary>
    public string StatePath { get; }

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
        return new CommandContext(statePath, parsed.GetValue(CommonOptions.Json), console, System.Console.Out, System.Console.Error);
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON on standard output (source-generated metadata).</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        Output.WriteLine(JsonSerializer.Serialize(value, typeInfo));
        Output.Flush();
    }
}
