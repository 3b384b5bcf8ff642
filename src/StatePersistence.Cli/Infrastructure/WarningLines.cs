using Microsoft.Extensions.Logging;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// The logger statectl hands the library where a call logs what the operator must hear: statectl has no logging, so
/// a Warning or worse (a key removed although files moved aside are sealed with it) becomes one <c>statectl:
/// warning:</c> line on standard error, as statectl's own warnings are, never mixed into <c>--json</c> output. Lesser
/// entries (the change itself, which the command's own output reports) are dropped.
/// </summary>
internal sealed class WarningLines(TextWriter error) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (IsEnabled(logLevel))
        {
            error.WriteLine("statectl: warning: " + formatter(state, exception));
            error.Flush();
        }
    }
}
