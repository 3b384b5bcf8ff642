using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Server;
using StatePersistence.Server.Configuration;

// --help and --version answer before anything starts: no state directory is opened, no port bound.
if (CommandLineUsage.Answer(args) is { } answer)
{
    await Console.Out.WriteAsync(answer);
    return 0;
}

// Taken before the run: once the host has stopped, its services (the lifetime among them) are disposed.
CancellationToken stopping = CancellationToken.None;
try
{
    WebApplication app = StateServer.Build(args);
    stopping = app.Lifetime.ApplicationStopping;
    await app.RunAsync();
    return 0;
}
catch (OperationCanceledException) when (stopping.IsCancellationRequested)
{
    // Stopped (SIGTERM, Ctrl+C) while the start still waited, for the database or an upgrade another instance runs:
    // the stop asked for, not a crash to dump (it aborted the process with a stack trace, exit 134). Nothing was
    // acknowledged, so there is nothing to lose.
    await Console.Error.WriteLineAsync("statepersistence-server: stopped before the start finished (a stop was asked for while it waited).");
    return 0;
}
catch (Exception ex) when (ex is ServerStartupException or StatePersistenceException or OptionsValidationException)
{
    // A refusal the operator must act on (an exposed address without a key, a locked state directory): say why in
    // one line instead of a stack trace.
    await Console.Error.WriteLineAsync("statepersistence-server: " + ex.Message + StartupHints.For(ex));
    return 2;
}
catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    // Another process listens on the address: an operator's mistake to name, not a crash to dump (it aborted the
    // process with a stack trace, exit 134). The state service has stopped by now, its final snapshot written.
    await Console.Error.WriteLineAsync($"statepersistence-server: {ex.Message} Another process listens there: stop it, or choose another address (--urls).");
    return 2;
}

/// <summary>The server's entry point; public so that tests can host it with <c>WebApplicationFactory</c>.</summary>
public partial class Program;
