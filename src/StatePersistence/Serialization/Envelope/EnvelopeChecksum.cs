using System.Globalization;
using System.IO.Hashing;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// The text form of a checksum in the plain-JSON envelopes (<c>state.json</c>'s trailing <c>checksum</c>, item files'
/// and reports' envelopes): <c>crc32:&lt;8 hex digits&gt;</c>.
/// </summary>
internal static class EnvelopeChecksum
{
    private const string Prefix = "crc32:";

    public static string Format(uint crc) => Prefix + crc.ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="stored"/> is the CRC of <paramref name="covered"/>.</summary>
    public static void Verify(ReadOnlySpan<byte> covered, string? stored) => Verify(Crc32.HashToUInt32(covered), stored);

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="stored"/> is <paramref name="actual"/>.</summary>
    public static void Verify(uint actual, string? stored)
    {
        if (stored is null || !stored.StartsWith(Prefix, StringComparison.Ordinal)
            || !uint.TryParse(stored.AsSpan(Prefix.Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint expected)
            || stored.Length != Prefix.Length + 8)
        {
            throw new InvalidDataException($"the checksum '{stored}' is not of the form {Prefix}<8 hex digits>");
        }

        if (actual != expected)
        {
            throw new InvalidDataException($"the checksum does not match the content (stored {stored}, computed {Format(actual)}): the file was changed after it was written, or belongs to another item");
        }
    }
}
