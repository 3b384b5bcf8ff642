using StatePersistence.Encryption;

namespace StatePersistence.Storage;

/// <summary>
/// A store whose payloads are sealed with the keys of a key file: the service asks it for the keys the file lost while
/// payloads may still be sealed with them (<see cref="KeyFileProvider.KeptKeys"/>), to log, count and report them.
/// </summary>
internal interface IKeyFileUser
{
    /// <summary>The key file's provider; null when the keys come from elsewhere or encryption is off.</summary>
    KeyFileProvider? KeyFile { get; }
}
