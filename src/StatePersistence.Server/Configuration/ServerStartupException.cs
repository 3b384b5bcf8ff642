namespace StatePersistence.Server.Configuration;

/// <summary>The server refuses to start because of its configuration; the message says why and how to fix it.</summary>
internal sealed class ServerStartupException(string message) : Exception(message);
