using System.CommandLine;
using StatePersistence.Encryption;
using StatePersistence.Errors;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Runs a command's body with the shared failure handling: a <see cref="CommandFailedException"/> or a library error
/// (<see cref="StatePersistenceException"/>, I/O) becomes one readable line on standard error (and, under
/// <c>--json</c>, an <c>{"error": ...}</c> document on standard output) and exit code 1; nothing is swallowed. A
/// command stopped by Ctrl-C or SIGTERM (<see cref="Interruption"/>) says so the same way, with exit code 130.
/// </summary>
internal static class CommandActions
{
    public static void SetHandler(this Command command, Func<CommandContext, ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction((parsed, cancellation) => RunAsync(parsed, cancellation, body));

    private static async Task<int> RunAsync(ParseResult parsed, CancellationToken cancellation,
        Func<CommandContext, ParseResult, CancellationToken, Task<int>> body)
    {
        CommandContext context = CommandContext.From(parsed);
        CancellationToken interrupted = Interruption.Current?.Token ?? CancellationToken.None;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, interrupted);
        // On the thread pool, so that a command reading synchronously (verify) does not hold up the signal's handling.
        Task<int> run = Task.Run(() => RunBodyAsync(context, parsed, linked.Token, interrupted, body), CancellationToken.None);
        try
        {
            return await run.WaitAsync(interrupted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            // The command has the grace period to stop on its token; one that does not (a long synchronous read) is left
            // behind when the process ends. Outside a change that is safe at any point: the read-only commands write
            // nothing there, and an import stopped anywhere is resumed by running it again (see Interruption).
            try
            {
                return await run.WaitAsync(Interruption.GracePeriod).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return Fail(context, Stopped, ExitCodes.Interrupted);
            }
        }
    }

    /// <summary>What an operator does about a directory another process holds, said where the refusal is.</summary>
    private const string InUseHint = " This command changes the directory, so it must be its only writer: stop the server "
        + "(or the other statectl) holding it, then run the command again. The read-only commands (du, health, verify, tasks list, "
        + "tasks show, export, backups list, archive list, migrate status, keys list) work beside a running server.";

    /// <summary>What a command stopped by a signal says (a command that keeps something for the operator adds where).</summary>
    internal const string Stopped = "Interrupted by a signal (Ctrl-C or SIGTERM): the command stopped before it finished.";

    private static async Task<int> RunBodyAsync(CommandContext context, ParseResult parsed, CancellationToken cancellation, CancellationToken interrupted,
        Func<CommandContext, ParseResult, CancellationToken, Task<int>> body)
    {
        try
        {
            return await body(context, parsed, cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            // Said, not a silent exit code.
            return Fail(context, Stopped, ExitCodes.Interrupted);
        }
        catch (CommandFailedException ex)
        {
            return Fail(context, ex.Message, ex.ExitCode, ex.KeptEdit);
        }
        catch (StateFormatException ex) when (ex.ReaderLacksCodec)
        {
            return Fail(context, MissingKey(context, ex), ExitCodes.Failed);
        }
        catch (StateDirectoryLockedException ex)
        {
            return Fail(context, ex.Message + InUseHint, ExitCodes.Failed);
        }
        catch (StateMigrationRequiredException ex)
        {
            return Fail(context, MigrationRequired(ex.Path ?? context.StatePath, ex), ExitCodes.Failed);
        }
        catch (Exception ex) when (ex is StatePersistenceException or IOException or UnauthorizedAccessException)
        {
            return Fail(context, ex.Message, ExitCodes.Failed);
        }
    }

    /// <summary>
    /// An encrypted directory read without a key: the library's message asks to "configure the codec", which an
    /// operator does here with an option or a variable, so the message says which.
    /// </summary>
    private static string MissingKey(CommandContext context, StateFormatException ex) =>
        $"The state directory '{context.StatePath}' is encrypted ('{ex.Path}' is sealed with the codec '{ex.WrittenWithCodec}') and no key was given: "
        + $"pass --key-file FILE or set {EncryptionOptions.KeyFileVariable} (the key file the server runs with). Nothing was changed.";

    /// <summary>
    /// An older directory (or an unfinished migration or rollback) opened by a command that changes it: statectl never
    /// migrates on the way (<see cref="CommandContext.StoreOptions"/>). The library's words speak of AutoMigrate and of
    /// starting again, a server's terms; these name the command that does it and say to run this one again after.
    /// </summary>
    private static string MigrationRequired(string directory, StateMigrationRequiredException ex) =>
        (ex.RollbackInterrupted
            ? $"A rollback of the last migration of the state directory '{directory}' was interrupted before it finished; this command does not finish it, so nothing was changed. "
                + $"Run 'statectl migrate rollback --state-path {directory}' to finish it (the directory is then of format {ex.DirectoryVersion} again; this build of statectl uses {ex.CurrentVersion})"
            : ex.Interrupted
                ? $"A migration of the state directory '{directory}' from {ex.DirectoryVersion} to {ex.CurrentVersion} was interrupted before it finished; this command does not finish it, so nothing was changed. "
                    + $"Run 'statectl migrate apply --state-path {directory}' (it rolls the run back and migrates again; 'statectl migrate rollback' instead leaves the directory as it was before)"
                : $"The state directory '{directory}' has format version {ex.DirectoryVersion}; this build of statectl uses {ex.CurrentVersion}. "
                    + "Only 'statectl migrate apply' migrates a directory (this command does not), so nothing was changed. "
                    + $"Run 'statectl migrate apply --state-path {directory}' (it takes a pre-migration backup first; 'statectl migrate status' shows what it will do; "
                    + "after a 'migrate rollback', not while the older build is still to run on it)")
        + ", then run this command again.";

    private static int Fail(CommandContext context, string message, int exitCode, string? keptEdit = null)
    {
        context.Error.WriteLine("statectl: " + message);
        if (exitCode == ExitCodes.Usage)
        {
            // As for a command line that does not parse (Statectl.RunAsync): a value the parser took but the command refused.
            context.Error.WriteLine(Statectl.UsageHint);
        }

        if (context.Json)
        {
            context.WriteJson(new CommandError(message, exitCode, keptEdit), CliJsonContext.Default.CommandError);
        }

        return exitCode;
    }
}
