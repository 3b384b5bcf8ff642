using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Server;
using StatePersistence.Server.Configuration;

try
{
    WebApplication app = StateServer.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is ServerStartupException or StatePersistenceException or OptionsValidationException)
{
    // A refusal the operator must act on (an exposed address without a key, a locked state directory): say why in
    // one line instead of a stack trace.
    await Console.Error.WriteLineAsync("statepersistence-server: " + ex.Message);
    return 2;
}

/// <summary>The server's entry point; public so that tests can host it with <c>WebApplicationFactory</c>.</summary>
public partial class Program;
