using System.Buffers.Text;
using StatePersistence.Commit;

namespace StatePersistence.Serialization;

/// <summary>
/// Writes an item's revision into its JSON. The revision is known only when a change is committed, after the item
/// was serialized (outside the commit lock, to keep it short), so the number is spliced into the bytes instead of
/// serializing again: the models write <c>revision</c> as their first property, so the splice is one copy.
/// </summary>
public static class ItemRevision
{
    private static readonly byte[] Prefix = "{\"revision\":"u8.ToArray();

    /// <summary>The change with its item's JSON carrying <paramref name="revision"/>; the same change when it already does.</summary>
    public static StateChange Stamp(StateChange change, long revision)
    {
        ArgumentNullException.ThrowIfNull(change);
        switch (change.Kind)
        {
            case ChangeKind.PutTask:
            case ChangeKind.PutSession:
            {
                StoredItem item = Stamp(ItemCodec.ToItem(change), revision, change.Kind);
                return ReferenceEquals(item, change.Item) ? change : change with { Json = item.Json, Item = item };
            }

            case ChangeKind.AppendTaskLog when change.Item is { } whole:
            {
                // The journal keeps only the entry (Json); the whole task in memory gets the revision.
                StoredItem item = Stamp(whole, revision, change.Kind);
                return ReferenceEquals(item, whole) ? change : change with { Item = item };
            }

            default:
                return change;
        }
    }

    /// <summary>The item with <paramref name="revision"/> in its JSON and its <see cref="StoredItem.Revision"/>.</summary>
    public static StoredItem Stamp(StoredItem item, long revision, ChangeKind kind)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Revision == revision && StartsWithRevision(item.Json))
        {
            return item;
        }

        return item with { Json = Splice(item.Json, revision, kind), Revision = revision };
    }

    private static bool StartsWithRevision(byte[] json) => json.AsSpan().StartsWith(Prefix);

    private static byte[] Splice(byte[] json, long revision, ChangeKind kind)
    {
        if (!StartsWithRevision(json))
        {
            // The models leave revision 0 out, so a never-committed item is "{" + its fields: the number goes in
            // front. JSON that names a revision elsewhere (written by hand) is serialized again instead, so the
            // result never holds the property twice; unknown fields round-trip either way.
            bool plain = json.Length >= 2 && json[0] == (byte)'{' && json.AsSpan().IndexOf("\"revision\""u8) < 0;
            if (!plain)
            {
                return kind == ChangeKind.PutSession ? Reserialize(ItemCodec.DeserializeSession(json), revision) : Reserialize(ItemCodec.DeserializeTask(json), revision);
            }

            return Splice(json, 1, revision, json.AsSpan(1).TrimStart(" \t\r\n"u8)[0] == (byte)'}' ? ""u8 : ","u8);
        }

        int end = Prefix.Length;
        while (end < json.Length && (json[end] == (byte)'-' || char.IsAsciiDigit((char)json[end])))
        {
            end++;
        }

        return Splice(json, end, revision, ""u8);
    }

    /// <summary><c>{"revision":N</c>, then <paramref name="separator"/>, then the JSON from <paramref name="rest"/> on.</summary>
    private static byte[] Splice(byte[] json, int rest, long revision, ReadOnlySpan<byte> separator)
    {
        Span<byte> digits = stackalloc byte[20];
        if (!Utf8Formatter.TryFormat(revision, digits, out int written))
        {
            throw new InvalidOperationException($"Revision {revision} could not be formatted.");
        }

        var stamped = new byte[Prefix.Length + written + separator.Length + (json.Length - rest)];
        Prefix.CopyTo(stamped, 0);
        digits[..written].CopyTo(stamped.AsSpan(Prefix.Length));
        separator.CopyTo(stamped.AsSpan(Prefix.Length + written));
        json.AsSpan(rest).CopyTo(stamped.AsSpan(Prefix.Length + written + separator.Length));
        return stamped;
    }

    private static byte[] Reserialize(Model.AgentTask task, long revision)
    {
        task.Revision = revision;
        return ItemCodec.Serialize(task);
    }

    private static byte[] Reserialize(Model.SessionInfo session, long revision)
    {
        session.Revision = revision;
        return ItemCodec.Serialize(session);
    }
}
