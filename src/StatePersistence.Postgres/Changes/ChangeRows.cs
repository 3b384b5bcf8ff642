using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// An item's or a change's row: its kind and id, and its value (both null for a deletion): <paramref name="Body"/> the
/// JSON in clear as UTF-8 (sent and read as the <c>jsonb</c> column's text, so no string is built on either way), or
/// <paramref name="Sealed"/> the envelope.
/// </summary>
internal readonly record struct ItemRow(string Kind, string Id, byte[]? Body, byte[]? Sealed);

/// <summary>
/// Turns changes into rows and rows back into changes. Under the identity codec a task's or session's JSON goes into
/// a <c>jsonb</c> column without its revision (the revision has its own column, the one truth, and is spliced back
/// in front when read, which costs one copy); under any other codec the JSON, revision included, is sealed by the
/// core's envelope into <c>bytea</c>: ciphertext is not JSON, and a <c>jsonb</c> column would hold the content in
/// clear. A log append is kept as the whole task it produced, so every row is a full value.
/// </summary>
internal sealed class ChangeRows(StorePayloads payloads, string location)
{
    public const string Task = "task";
    public const string Session = "session";
    public const string Extras = "extras";

    // The application's own properties have no payload kind of their own; bound to this id among log records.
    private const string ExtrasPayloadId = "state-extras";

    public bool IsIdentity => payloads.IsIdentity;

    /// <summary>The store's location, for messages.</summary>
    public string Location => location;

    /// <summary>The row kind a change writes, or null for a kind this store does not know.</summary>
    public static string KindOf(ChangeKind kind) => kind switch
    {
        ChangeKind.PutTask or ChangeKind.DeleteTask or ChangeKind.AppendTaskLog => Task,
        ChangeKind.PutSession or ChangeKind.DeleteSession => Session,
        ChangeKind.SetStateExtras => Extras,
        _ => throw new ArgumentException($"Unknown change kind {(byte)kind}.", nameof(kind)),
    };

    /// <summary>The row of a change already stamped with its revision, in clear or sealed as the codec is now.</summary>
    public ItemRow ToRow(StateChange stamped) => ToRow(stamped, payloads.IsIdentity);

    /// <summary>
    /// The row of a change already stamped with its revision: its JSON in clear when <paramref name="clear"/>, else
    /// sealed (in the identity envelope if no key is active by then). A writer that decided the form once, before it
    /// took the revisions, passes that decision: the codec may change between (a key file reloaded).
    /// </summary>
    public ItemRow ToRow(StateChange stamped, bool clear)
    {
        byte[]? json = stamped.Kind switch
        {
            ChangeKind.AppendTaskLog => stamped.Item?.Json ?? throw new ArgumentException($"The log append to task '{stamped.Id}' carries no whole task.", nameof(stamped)),
            ChangeKind.DeleteTask or ChangeKind.DeleteSession => null,
            _ => stamped.Json,
        };
        string kind = KindOf(stamped.Kind);
        if (json is null)
        {
            return new ItemRow(kind, stamped.Id, null, null);
        }

        return clear
            ? new ItemRow(kind, stamped.Id, json, null)
            : new ItemRow(kind, stamped.Id, null, payloads.Seal(PayloadKindOf(kind), PayloadId(kind, stamped.Id), json));
    }

    /// <summary>The change a row records (a put of the whole value, or a deletion), its JSON carrying <paramref name="revision"/>.</summary>
    public StateChange ToChange(ItemRow row, long revision)
    {
        string where = $"{location}/{row.Kind}/{row.Id}";
        try
        {
            byte[]? json = row.Sealed is { } sealedBytes
                ? payloads.Open(PayloadKindOf(row.Kind), PayloadId(row.Kind, row.Id), sealedBytes, where)
                : row.Body;
            switch (row.Kind)
            {
                case Extras:
                    return new StateChange(ChangeKind.SetStateExtras, "", json);
                case Task or Session:
                    ChangeKind put = row.Kind == Task ? ChangeKind.PutTask : ChangeKind.PutSession;
                    if (json is null)
                    {
                        return new StateChange(row.Kind == Task ? ChangeKind.DeleteTask : ChangeKind.DeleteSession, row.Id, null);
                    }

                    StoredItem item = ItemRevision.Stamp(StorePayloads.ReadItem(put, json), revision, put);
                    return new StateChange(put, row.Id, item.Json, item);
                default:
                    throw new StateFormatException($"The row '{where}' has the kind '{row.Kind}', which this build does not know.", where);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            throw new StateStorageException($"The row '{where}' (revision {revision}) cannot be read: {ex.Message}", where, ex, isTransient: false);
        }
    }

    private static PayloadKind PayloadKindOf(string kind) => kind switch
    {
        Task => PayloadKind.Task,
        Session => PayloadKind.Session,
        _ => PayloadKind.JournalRecord,
    };

    private static string PayloadId(string kind, string id) => kind == Extras ? ExtrasPayloadId : id;
}
