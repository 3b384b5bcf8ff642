namespace StatePersistence.Errors;

/// <summary>
/// A stored file cannot be read with this build and configuration: it was written in a newer, unknown format version,
/// with another payload codec, or sealed with an encryption key the key ring does not hold, has revoked, or holds other
/// key material for (intact bytes that do not authenticate). It is not damage: the file is left untouched.
/// </summary>
public sealed class StateFormatException : StatePersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StateFormatException(string message, string path)
        : base(message, path)
    {
    }

    /// <summary>Creates the exception for a payload written with another codec than the one configured.</summary>
    public StateFormatException(string message, string path, string writtenWithCodec, string configuredCodec)
        : base(message, path)
    {
        WrittenWithCodec = writtenWithCodec;
        ConfiguredCodec = configuredCodec;
    }

    /// <summary>Creates the exception for a payload the key ring cannot open with the key <paramref name="keyId"/> it names.</summary>
    internal StateFormatException(string message, string path, string? keyId, bool keyMaterialDiffers)
        : base(message, path)
    {
        KeyId = keyId;
        KeyMaterialDiffers = keyMaterialDiffers;
    }

    /// <summary>
    /// The key the file was sealed with, when that key is what stopped the read: the key ring does not hold it, has
    /// revoked it, or holds other key material under its id (else null).
    /// </summary>
    public string? KeyId { get; }

    /// <summary>
    /// Whether the key ring holds the key the file names but with other key material than the one that sealed it
    /// (intact bytes that do not authenticate: a mistyped key, another host's key under the same id). Every payload
    /// under that key fails the same way, so a tool says it once rather than once per file.
    /// </summary>
    internal bool KeyMaterialDiffers { get; }

    /// <summary>The codec the file was written with, when that is what stopped the read (else null).</summary>
    public string? WrittenWithCodec { get; }

    /// <summary>The codec the reader was configured with, when the file was written with another (else null).</summary>
    public string? ConfiguredCodec { get; }

    /// <summary>
    /// Whether the reader had no codec (the identity codec) for a file sealed with one, such as an encrypted directory
    /// read without its key: a configuration to fix, which says nothing about the files themselves.
    /// </summary>
    public bool ReaderLacksCodec => WrittenWithCodec is not null && ConfiguredCodec == Serialization.IdentityCodec.CodecName;
}
