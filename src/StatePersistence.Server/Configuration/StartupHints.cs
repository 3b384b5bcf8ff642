using StatePersistence.Encryption;
using StatePersistence.Errors;

namespace StatePersistence.Server.Configuration;

/// <summary>
/// What the server's operator does about a refusal the library words for any application: the library says "configure
/// the codec it was written with", and the server's way to do that is an option, which this names.
/// </summary>
internal static class StartupHints
{
    /// <summary>A sentence led by a space, or empty when the refusal says all there is.</summary>
    public static string For(Exception refusal) => refusal is StateFormatException { ReaderLacksCodec: true }
        ? $" The state is encrypted and the server was started without its key: start it with --encryption-key-file FILE (or {EncryptionOptions.KeyFileVariable}), the key file it was written with."
        : "";
}
