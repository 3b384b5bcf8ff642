using StatePersistence.Errors;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// Damage to a session log's 8-byte file header, which no checksum covers. A header that is not one at all, over valid
/// frames, is found by the frames (read as they are: <see cref="SessionLogs.Parse"/>). One that is still a header but
/// says the wrong thing is the subtle case. The header says whether the frames hold envelopes (version 3) or plain
/// text (version 2), and 3 is 2 with one bit more: one bit flipped at rest made a sealed log read as plain text. Its
/// frames' checksums held, so the ciphertext was served as the log's text without a word, and the next rewrite (the
/// first append's sealing of a version 2 log, a re-encryption) sealed that ciphertext again, hiding the text behind two
/// layers for good. So in a log whose header says plain text, a frame holding an envelope that opens (bound to this
/// session's log, under a key of the ring) proves the header damaged: it is opened as in a version 3 log, and the
/// header is repaired. Plain text that merely starts like an envelope does not open (its codec, key id or tag), and
/// stays text; so does text in the form of an envelope in the clear, which has no tag to prove anything.
/// </summary>
internal static class FileHeaderCheck
{
    /// <summary>
    /// Whether <paramref name="stored"/>, a valid frame's text in a log whose header says plain text, is an envelope of
    /// <paramref name="sessionId"/>'s log that opens; <paramref name="opened"/> is then its text.
    /// </summary>
    public static bool HoldsEnvelope(PayloadEnvelope envelope, string sessionId, ReadOnlySpan<byte> stored, string path, out ReadOnlySpan<byte> opened)
    {
        opened = default;
        // Only a keyed envelope proves anything: its tag authenticates it, bound to this session's log. An envelope
        // in the clear (no key id) has nothing to check, and plain text written in its form would open as one.
        if (!EnvelopeFormat.HasMagic(stored) || EnvelopeFormat.ReadHeader(stored, out _, out _, out string? keyId) <= 0 || keyId is null)
        {
            return false;
        }

        try
        {
            opened = envelope.OpenRecord(PayloadKind.SessionLogAppend, sessionId, stored, path);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
        catch (StateFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the header of a log is damaged: not a header at all (<paramref name="version"/> 0) over valid frames, or
    /// one saying plain text (version 2) over frames holding envelopes that open (<paramref name="envelopesInPlain"/>).
    /// </summary>
    public static bool IsDamaged(ushort version, int frames, bool envelopesInPlain) => (version == 0 && frames > 0) || envelopesInPlain;

    /// <summary>What is wrong with a damaged header (see <see cref="IsDamaged"/>), as a problem or a copy's reason says it.</summary>
    public static string Problem(bool envelopesInPlain) => envelopesInPlain
        ? "the file header (bytes 0..7) says the appends are plain text (version 2), but they hold envelopes that open: the header is damaged, a bit flipped at rest"
        : "the file header (bytes 0..7) is damaged: it is not a session log's header, though valid appends follow";
}
