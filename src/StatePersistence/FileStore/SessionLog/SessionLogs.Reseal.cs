using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>The background re-encryption's rewrite of a log, a frame at a time (see <see cref="SessionLogs.ResealStaleAsync"/>).</summary>
internal sealed partial class SessionLogs
{
    /// <summary>The log at <paramref name="path"/> opened and sealed again (<see cref="Reseal(string, string, IFileHandle, out bool)"/>).</summary>
    private ushort? Reseal(string sessionId, string path, out bool damaged)
    {
        using IFileHandle source = fileSystem.Open(path, FileOpenMode.Read);
        return Reseal(sessionId, path, source, out damaged);
    }

    /// <summary>
    /// Rewrites the log open as <paramref name="source"/> with every frame sealed again under the active key (or in the
    /// clear when encryption is off): read, opened, sealed and written one frame at a time into a temp file, which is
    /// fsynced and renamed over the log, and the directory fsynced. The log is first checked whole (every frame valid
    /// to its end: damage is the caller's to repair), so a log that fails
    /// mid-way is never half-rewritten: any failure leaves the original as it was and removes the temp file. Returns the file header's
    /// version written, or null when the log was left as it is; <paramref name="damaged"/> then says whether it was for
    /// damage a read repairs (<see cref="RepairHeld"/>): damage between appends, a damaged file header, or a broken end.
    /// </summary>
    private ushort? Reseal(string sessionId, string path, IFileHandle source, out bool damaged)
    {
        damaged = false;
        long length = source.Length;
        Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
        if (length < header.Length || source.Read(0, header) != header.Length || !SessionLogFormat.IsFramed(header))
        {
            // Plain text from before framing is left as it is; valid frames under a header that is not one are damage.
            damaged = length >= header.Length && Scan(sessionId, path, source, length).HeaderProblem is not null;
            return null;
        }

        LogScan scan = Scan(sessionId, path, source, length);
        if (scan.Damage.Count > 0 || scan.HeaderProblem is not null || scan.Frames == 0 || scan.FramesEnd != length)
        {
            // The caller left a live log with a failed append pending alone: any broken end here is damage (BrokenEnd).
            damaged = scan.Damage.Count > 0 || scan.HeaderProblem is not null || scan.AfterTail is not null;
            return null;
        }

        bool enveloped = SessionLogFormat.HeaderVersion(header) == SessionLogFormat.EnvelopedVersion;
        // Read once: the key file may change meanwhile, and a log's header and frames must agree.
        bool clear = envelope.IsIdentity;
        ushort version = clear ? SessionLogFormat.PlainVersion : SessionLogFormat.EnvelopedVersion;
        AtomicFile.Write(fileSystem, layout, path, output =>
        {
            int written = 0;
            using var walk = new FrameWalk(source, length);
            while (walk.MoveNext())
            {
                ReadOnlySpan<byte> text = enveloped ? envelope.OpenRecord(PayloadKind.SessionLogAppend, sessionId, walk.Text, path) : walk.Text;
                output.Write(SessionLogFormat.Frame(clear ? text : Seal(sessionId, text), written == 0 ? version : null));
                written++;
            }

            if (written != scan.Frames)
            {
                // The log is read under its gate, so this is a file changed behind the store's back: keep the original.
                throw new IOException($"The session log '{path}' changed while it was sealed again ({written} appends read, {scan.Frames} checked); it was left as it was.");
            }
        }, Durability.Full);
        return version;
    }
}
