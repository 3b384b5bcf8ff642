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
/// file, in time order (the file name's time, then the name), so each call's text comes back byte for byte and the
/// session's log reads as the concatenation the Node server meant. Each session gets only its own files. The
/// per-call files are then deleted: the pre-migration backup holds them.
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

    private static void JoinOne(MigrationContext context, string id, List<(long EpochMs, string Name)> files)
    {
        StateLayout layout = context.Layout;
        string target = layout.SessionLogFile(id);
        var log = new ArrayBufferWriter<byte>();
        var text = new ArrayBufferWriter<byte>();
        ushort version = context.Envelope.IsIdentity ? SessionLogFormat.PlainVersion : SessionLogFormat.EnvelopedVersion;
        string existing = "";
        if (context.FileSystem.FileExists(target))
        {
            byte[] bytes = context.FileSystem.ReadAllBytes(target);
            if (!TryKeepFramed(context, id, target, bytes, log, text, ref version))
            {
                // A plain (version 1) log: its text is older than any append this library framed, so it comes first.
                AppendFrame(context, id, bytes, log, text, version);
            }

            existing = $" after the {bytes.Length} bytes already in it";
        }

        long bytesJoined = 0;
        foreach ((_, string name) in files)
        {
            byte[] call = context.FileSystem.ReadAllBytes(Path.Combine(layout.LogsDirectory, name));
            AppendFrame(context, id, call, log, text, version);
            bytesJoined += call.Length;
        }

        context.Write(target, log.WrittenSpan);
        foreach ((_, string name) in files)
        {
            context.Delete(Path.Combine(layout.LogsDirectory, name));
        }

        context.ExpectedLogs[id] = text.WrittenSpan.ToArray();
        context.Log.Add($"  session log {id}: {files.Count} per-call file(s), {bytesJoined} bytes, joined in time order into {context.Relative(target)}{existing} "
            + $"({files[0].Name} .. {files[^1].Name})");
    }

    /// <summary>
    /// A log this library already framed (a directory an earlier build opened) is kept frame for frame, the per-call
    /// files appended after it. False when the log is not framed.
    /// </summary>
    private static bool TryKeepFramed(MigrationContext context, string id, string path, byte[] bytes, ArrayBufferWriter<byte> log,
        ArrayBufferWriter<byte> text, ref ushort version)
    {
        ushort header = SessionLogFormat.HeaderVersion(bytes);
        if (header == 0)
        {
            return false;
        }

        version = header;
        log.Write(bytes.AsSpan(0, SessionLogFormat.FileHeaderSize));
        long offset = SessionLogFormat.FileHeaderSize;
        while (offset < bytes.Length)
        {
            int size = SessionLogFormat.FrameAt(bytes, offset);
            if (size <= 0)
            {
                throw new InvalidDataException($"the session log '{path}' is damaged at offset {offset}; start once with this build's previous release to repair it, then migrate");
            }

            ReadOnlySpan<byte> stored = SessionLogFormat.Text(bytes, offset, size);
            text.Write(header == SessionLogFormat.EnvelopedVersion ? context.Envelope.OpenRecord(PayloadKind.SessionLogAppend, id, stored, path) : stored);
            log.Write(bytes.AsSpan((int)offset, size));
            offset += size;
        }

        return true;
    }

    private static void AppendFrame(MigrationContext context, string id, ReadOnlySpan<byte> call, ArrayBufferWriter<byte> log, ArrayBufferWriter<byte> text, ushort version)
    {
        ReadOnlySpan<byte> stored = call;
        if (version == SessionLogFormat.EnvelopedVersion)
        {
            var sealedText = new ArrayBufferWriter<byte>(call.Length + 32);
            context.Envelope.SealRecord(sealedText, PayloadKind.SessionLogAppend, id, call);
            stored = sealedText.WrittenSpan;
        }

        log.Write(SessionLogFormat.Frame(stored, log.WrittenCount == 0 ? version : null));
        text.Write(call);
    }
}
