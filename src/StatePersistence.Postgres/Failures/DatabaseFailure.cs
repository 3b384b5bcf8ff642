using Npgsql;

namespace StatePersistence.Postgres.Failures;

/// <summary>
/// A database failure in one line an operator can act on. Npgsql often keeps the cause in an inner exception its own
/// message only points to: a statement that ran past the Command Timeout is "Exception while reading from stream" (the
/// timeout inside), a multi-host string whose hosts all failed is "Unable to connect to a suitable host. Check inner
/// exception for more details." (each host's failure inside), and a refused connection's reason is the inner socket
/// error. A PostgreSQL error is its code and message, without the position and detail lines Npgsql appends (a detail
/// can quote row values). Nothing here holds the connection string: Npgsql's messages name hosts and ports only.
/// </summary>
internal static class DatabaseFailure
{
    /// <summary>Describes <paramref name="failure"/>; <paramref name="commandTimeoutSeconds"/> is the connection's Command Timeout.</summary>
    public static string Describe(NpgsqlException failure, int commandTimeoutSeconds)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (failure is PostgresException postgres)
        {
            return $"{postgres.SqlState}: {postgres.MessageText}";
        }

        return failure.InnerException switch
        {
            // Npgsql's read of an answer timed out: the statement did not finish within the Command Timeout.
            TimeoutException when failure.Message.Contains("reading", StringComparison.OrdinalIgnoreCase) =>
                $"no answer within the Command Timeout of {commandTimeoutSeconds} s (a lock held on the store's tables by another session, " +
                "a long-running statement or an overloaded database; pg_stat_activity and pg_locks show which)",
            // Npgsql's open timed out after the TCP connection was taken: its message and the inner one both say only
            // "The operation has timed out", which named neither the step nor the setting (before 2026-12-07 the whole line
            // was "The operation has timed out (The operation has timed out.)": StatectlUnansweredConnectionTests).
            TimeoutException when failure.Message.StartsWith("The operation has timed out", StringComparison.Ordinal) =>
                "no answer while connecting within the connection string's Timeout (15 s unless it sets one): the host and port " +
                "lead to something that does not answer as PostgreSQL does (another service, a proxy), or to a server too busy or " +
                "hung to take a connection; check them with pg_isready -h HOST -p PORT",
            AggregateException hosts => $"{FirstSentence(failure.Message)}: " +
                string.Join("; ", hosts.InnerExceptions.Select(h => h is NpgsqlException n ? Describe(n, commandTimeoutSeconds) : h.Message)),
            Exception inner when !failure.Message.Contains(inner.Message, StringComparison.Ordinal) => $"{failure.Message} ({inner.Message})",
            _ => failure.Message,
        };
    }

    private static string FirstSentence(string message) =>
        message.IndexOf(". ", StringComparison.Ordinal) is var end and > 0 ? message[..end] : message.TrimEnd('.');
}
