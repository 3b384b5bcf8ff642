using System.Text;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.InMemory;

/// <summary>
/// One committed group as bytes: a format version, the revision, then each change (kind, id, value, whole item for
/// a log append, log index). Versioned like every stored format, so data from a newer writer is refused by name.
/// </summary>
internal static class InMemoryRecordFormat
{
    public const byte CurrentVersion = 1;

    public static byte[] Encode(CommittedGroup group)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(CurrentVersion);
            writer.Write(group.Revision);
            writer.Write(group.Changes.Count);
            foreach (StateChange change in group.Changes)
            {
                writer.Write((byte)change.Kind);
                writer.Write(change.Id);
                WriteBytes(writer, change.Json);
                WriteBytes(writer, change.Kind == ChangeKind.AppendTaskLog ? change.Item?.Json : null);
                writer.Write(change.LogIndex);
            }
        }

        return stream.ToArray();
    }

    public static CommittedGroup Decode(byte[] record, string location)
    {
        if (record.Length == 0 || record[0] != CurrentVersion)
        {
            string found = record.Length == 0 ? "none" : record[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new StateFormatException($"A log record in '{location}' has format version {found}; this build reads version {CurrentVersion} only.", location);
        }

        using var reader = new BinaryReader(new MemoryStream(record), Encoding.UTF8);
        reader.ReadByte();
        long revision = reader.ReadInt64();
        int count = reader.ReadInt32();
        var changes = new StateChange[count];
        for (int i = 0; i < count; i++)
        {
            var kind = (ChangeKind)reader.ReadByte();
            string id = reader.ReadString();
            byte[]? json = ReadBytes(reader);
            byte[]? whole = ReadBytes(reader);
            int logIndex = reader.ReadInt32();
            StoredItem? item = kind switch
            {
                ChangeKind.PutTask => ItemCodec.TaskItem(json!),
                ChangeKind.PutSession => ItemCodec.SessionItem(json!),
                ChangeKind.AppendTaskLog => ItemCodec.TaskItem(whole!),
                _ => null,
            };
            changes[i] = new StateChange(kind, id, json, item) { LogIndex = logIndex };
        }

        return new CommittedGroup(revision, changes);
    }

    private static void WriteBytes(BinaryWriter writer, byte[]? bytes)
    {
        writer.Write(bytes?.Length ?? -1);
        if (bytes is not null)
        {
            writer.Write(bytes);
        }
    }

    private static byte[]? ReadBytes(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        return length < 0 ? null : reader.ReadBytes(length);
    }
}
