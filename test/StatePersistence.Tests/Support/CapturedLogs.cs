using Microsoft.Extensions.Logging;

namespace StatePersistence.Tests.Support;

/// <summary>Every log entry of the category StatePersistence: its event id, exception and formatted message.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record Entry(int Id, Exception? Error, string Message);

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (category != "StatePersistence")
            {
                return;
            }

            lock (owner._entries)
            {
                owner._entries.Add(new Entry(eventId.Id, exception, formatter(state, exception)));
            }
        }
    }
}
