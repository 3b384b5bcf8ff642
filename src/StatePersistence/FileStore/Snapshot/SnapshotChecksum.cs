using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// The integrity check a snapshot carries (format 2.1): a last property <c>"checksum": "crc32:&lt;8 hex&gt;"</c>
/// whose CRC-32 covers every byte of the (decoded) JSON before the comma that precedes it. The file stays plain JSON;
/// a reader that does not know the property sees one more field. This is the plain-JSON form of the envelope for
/// snapshots (<see cref="PayloadEnvelope"/>); the check itself is the envelope's (<see cref="EnvelopeChecksum"/>).
/// </summary>
internal static class SnapshotChecksum
{
    public const string PropertyName = "checksum";

    public static string Format(uint crc) => EnvelopeChecksum.Format(crc);

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="stored"/> is the CRC of <paramref name="covered"/>.</summary>
    public static void Verify(ReadOnlySpan<byte> covered, string? stored) => EnvelopeChecksum.Verify(covered, stored);
}
