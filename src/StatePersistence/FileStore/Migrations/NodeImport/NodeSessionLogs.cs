using System.Buffers;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// Joins the Node implementation's per-call session logs (<c>logs/session_&lt;id&gt;_&lt;epoch-ms&gt;.log</c>, one file per
/// <c>saveSessionLog</c> call) into the session's own log, <c>logs/session_&lt;id&gt;.log</c>: one framed append per
/// file (a file of more than <see cref="PlainPiece"/> in appends of that size), in time order (the file name's time, then the name), so each call's text comes back byte for byte and the
/// session's log reads as the concatenation the Node server meant. Each session gets only its own files. The
/// per-call files are then deleted: the pre-migration backup holds them. The joined log is written as it is read, a
/// frame at a time.
/// </summary>
internal static class NodeSessionLogs
{
    public static void Join(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        var bySession = new SortedDictionary<string, List<(long EpochMs, string Name)>>(StringComparer.Ordinal);
        foreach (string name in context.FileSystem.ListFiles(layout.LogsDirectory))
        {
            if (!NodeFileNames.TryParseSessionLog(name, out string id, out long epochMs))
            {
                continue;
            }

            if (!StateId.IsValid(id))
            {
                context.MoveAside(Path.Combine(layout.LogsDirectory, name), $"the session id {StateId.Quote(id)} in its name is not a valid id");
                continue;
            }

            if (!bySession.TryGetValue(id, out List<(long, string)>? files))
            {
                bySession[id] = files = [];
            }

            files.Add((epochMs, name));
        }

        foreach ((string id, List<(long EpochMs, string Name)> files) in bySession)
        {
            files.Sort((a, b) => a.EpochMs != b.EpochMs ? a.EpochMs.CompareTo(b.EpochMs) : string.CompareOrdinal(a.Name, b.Name));
            JoinOne(context, id, files);
        }
    }

    /// <summary>How much of a plain (version 1) log or a per-call file goes in one frame when it is framed: a log of gigabytes is copied a piece at a time.</summary>
    internal const int PlainPiece = 1 << 20;

    /// <summary>
    /// Writes the session's log (atomically: temp file, fsync, rename) as it reads what goes in it, a frame at a time:
    /// a log already there of gigabytes takes the memory of its largest append, not its size. What the log must read
    /// back as is kept as a digest (<see cref="LogDigest"/>) for the validation.
    /// </summary>
    private static void JoinOne(MigrationContext context, string id, List<(long EpochMs, string Name)> files)
    {
        StateLayout layout = context.Layout;
        string target = layout.SessionLogFile(id);
        using var text = new LogDigest.Builder();
        ushort version = context.Envelope.IsIdentity ? SessionLogFormat.PlainVersion : SessionLogFormat.EnvelopedVersion;
        using IFileHandle? existing = context.FileSystem.FileExists(target) ? context.FileSystem.Open(target, FileOpenMode.Read) : null;
        long existingLength = existing?.Length ?? 0;
        Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
        ushort existingVersion = existing is not null && existingLength >= header.Length && existing.Read(0, header) == header.Length
            ? SessionLogFormat.HeaderVersion(header) : (ushort)0;
        version = existingVersion != 0 ? existingVersion : version;
        long bytesJoined = 0;
        context.Write(target, log =>
        {
            bool first = true;
            if (existing is not null && existingVersion != 0)
            {
                // A log this library already framed (a directory an earlier build opened) is kept frame for frame,
                // the per-call files appended after it.
                CopyFramed(context, id, target, existing, existingLength, existingVersion, log, text);
                first = false;
            }
            else if (existing is not null)
            {
                // A plain (version 1) log: its text is older than any append this library framed, so it comes first.
                CopyPlain(context, id, existing, existingLength, log, text, version, ref first);
            }

            foreach ((_, string name) in files)
            {
                // One append per call, but a call of more than a piece in pieces: a per-call file of 300 MB read whole
                // took 1.29 GB to join (the file, its frame, its sealed copy), and a smaller heap ended the migration.
                using IFileHandle call = context.FileSystem.Open(Path.Combine(layout.LogsDirectory, name), FileOpenMode.Read);
                long length = call.Length;
                if (length == 0)
                {
                    AppendFrame(context, id, [], log, text, version, ref first);
                }
                else
                {
                    CopyPlain(context, id, call, length, log, text, version, ref first);
                }

                bytesJoined += length;
            }
        });
        foreach ((_, string name) in files)
        {
            context.Delete(Path.Combine(layout.LogsDirectory, name));
        }

        context.ExpectedLogs[id] = text.Build();
        string after = existing is null ? "" : $" after the {existingLength} bytes already in it";
        context.Log.Add($"  session log {id}: {files.Count} per-call file(s), {bytesJoined} bytes, joined in time order into {context.Relative(target)}{after} "
            + $"({files[0].Name} .. {files[^1].Name})");
    }

    /// <summary>Copies a framed log's header and frames as they are; any damage stops the migration (nothing changed).</summary>
    private static void CopyFramed(MigrationContext context, string id, string path, IFileHandle source, long length, ushort version, Stream log,
        LogDigest.Builder text)
    {
        log.Write(SessionLogFormat.FileHeader(version));
        long expected = SessionLogFormat.FileHeaderSize;
        using var walk = new FrameWalk(source, length);
        while (expected < length && walk.MoveNext() && walk.Offset == expected)
        {
            text.Append(version == SessionLogFormat.EnvelopedVersion ? context.Envelope.OpenRecord(PayloadKind.SessionLogAppend, id, walk.Text, path) : walk.Text);
            log.Write(walk.Frame);
            expected += walk.Size;
        }

        if (expected != length)
        {
            throw new InvalidDataException($"the session log '{path}' is damaged at offset {expected}; start once with this build's previous release to repair it, then migrate");
        }
    }

    /// <summary>Frames a plain log's (or a per-call file's) text a piece (<see cref="PlainPiece"/>) at a time.</summary>
    private static void CopyPlain(MigrationContext context, string id, IFileHandle source, long length, Stream log, LogDigest.Builder text, ushort version,
        ref bool first)
    {
        byte[] piece = new byte[(int)Math.Min(PlainPiece, Math.Max(1, length))];
        for (long offset = 0; offset < length;)
        {
            int read = source.Read(offset, piece.AsSpan(0, (int)Math.Min(piece.Length, length - offset)));
            if (read <= 0)
            {
                throw new IOException($"The session log ended at byte {offset} of the {length} it held when the migration opened it.");
            }

            AppendFrame(context, id, piece.AsSpan(0, read), log, text, version, ref first);
            offset += read;
        }
    }

    private static void AppendFrame(MigrationContext context, string id, ReadOnlySpan<byte> call, Stream log, LogDigest.Builder text, ushort version, ref bool first)
    {
        ReadOnlySpan<byte> stored = call;
        if (version == SessionLogFormat.EnvelopedVersion)
        {
            var sealedText = new ArrayBufferWriter<byte>(call.Length + 32);
            context.Envelope.SealRecord(sealedText, PayloadKind.SessionLogAppend, id, call);
            stored = sealedText.WrittenSpan;
        }

        log.Write(SessionLogFormat.Frame(stored, first ? version : null));
        text.Append(call);
        first = false;
    }
}
