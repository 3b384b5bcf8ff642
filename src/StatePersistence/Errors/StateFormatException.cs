namespace StatePersistence.Errors;

/// <summary>
/// A stored file cannot be read with this build and configuration: it was written in a newer, unknown format version,
/// with another payload codec, or sealed with an encryption key the key ring does not hold (or has revoked). It is not
/// damage: the file is left untouched.
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
