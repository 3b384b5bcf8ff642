using StatePersistence.Errors;

namespace StatePersistence.Server.Problems;

/// <summary>
/// A session log append whose text is durable, but whose check after it (whether a <c>DELETE</c> of the session landed
/// meanwhile, and if so removing the text) failed in storage. Unlike any other storage failure part of the request is
/// stored, so the answer must not say "nothing was stored": a client that retried on that appended the text twice.
/// </summary>
internal sealed class SessionLogCheckFailedException(string sessionId, StatePersistenceException cause)
    : Exception($"The text was appended to the log of session '{sessionId}', but the check after it failed.", cause)
{
    public string SessionId { get; } = sessionId;

    public StatePersistenceException Cause { get; } = cause;
}
