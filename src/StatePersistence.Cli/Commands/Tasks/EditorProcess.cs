using System.Diagnostics;
using StatePersistence.Cli.Infrastructure;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>The operator's editor: <c>$EDITOR</c>, then <c>$VISUAL</c>, run through <c>/bin/sh</c> so either may carry arguments (<c>code -w</c>).</summary>
internal static class EditorProcess
{
    /// <summary>The editor command, or a refusal naming both variables when neither is set.</summary>
    public static string Resolve() =>
        Environment.GetEnvironmentVariable("EDITOR") is { Length: > 0 } editor ? editor
        : Environment.GetEnvironmentVariable("VISUAL") is { Length: > 0 } visual ? visual
        : throw new CommandFailedException("Neither $EDITOR nor $VISUAL is set: set one to the editor to open the task in (for example EDITOR=nano).");

    /// <summary>Runs <paramref name="editor"/> on <paramref name="path"/> on this terminal and waits for it to exit.</summary>
    public static async Task RunAsync(string editor, string path, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(editor + " \"$1\"");
        info.ArgumentList.Add("statectl-editor");
        info.ArgumentList.Add(path);
        using Process process = Process.Start(info) ?? throw new CommandFailedException($"The editor '{editor}' could not be started; nothing was saved (the edit is kept in '{path}').");
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new CommandFailedException($"The editor '{editor}' exited with code {process.ExitCode}; nothing was saved (the edit is kept in '{path}').");
        }
    }
}
