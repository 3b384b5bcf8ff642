using StatePersistence.Commit;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>
/// The one rule for whether a task or session file holds what the state says it should. The start-up scrub
/// (<see cref="FileStateStore.ScrubAsync"/>) and <c>statectl verify</c> (<c>ItemFileAgreement</c>) both judge by it;
/// they differ only in what they do with a problem (move the file aside, or list it). Before it, each had its own
/// copy, and they disagreed: verify let through a file as new as the state's item with other content and one newer
/// than the state it read, the scrub a file of valid JSON that is no task.
/// </summary>
internal static class ItemFileRule
{
    /// <summary>
    /// Judges the file at <paramref name="path"/>, of item <paramref name="id"/>, against <paramref name="expected"/>.
    /// It agrees when it holds, byte for byte, the last checkpoint's copy or the state's (a file in the format from
    /// before the payload envelope, equal to the snapshot's copy, is the store's own), or a version of the item newer
    /// than that checkpoint and older than the state's: what a checkpoint a crash stopped short of its <c>state.json</c>
    /// wrote, the item having changed again after that checkpoint took its view. That is no damage, and the next
    /// checkpoint writes the current version over it. Any other version (from before the checkpoint, as new as the
    /// state's with other content, newer than the state, or without a revision) is a problem, as is a file that
    /// cannot be read, does not parse as the item, or holds another item. A file this store cannot open for lack of
    /// the right key or codec throws <see cref="Errors.StateFormatException"/>: that says nothing about the file.
    /// </summary>
    public static ItemFileJudgement Judge(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id,
        ItemFileExpectation expected)
    {
        if (Open(fileSystem, envelope, kind, path, id, out ItemFileJudgement failure) is not { } json)
        {
            return failure;
        }

        if (Holds(json, expected.Checkpointed) || Holds(json, expected.Current))
        {
            // Most files: no parse needed (the state's copy has the file's id).
            return new ItemFileJudgement(ItemFileVerdict.Agrees, null);
        }

        return Parse(kind, id, json, out failure) is { } item ? Compare(kind, item, expected) : failure;
    }

    /// <summary>Reads the item in a file on its own (nothing to compare with): the item, or null with why not.</summary>
    public static StoredItem? Read(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id, out ItemFileJudgement failure) =>
        Open(fileSystem, envelope, kind, path, id, out failure) is { } json ? Parse(kind, id, json, out failure) : null;

    private static ItemFileJudgement Compare(PayloadKind kind, StoredItem item, ItemFileExpectation expected)
    {
        string kindName = KindName(kind);
        if (item.Revision > expected.StateRevision)
        {
            return new ItemFileJudgement(ItemFileVerdict.NewerThanTheState,
                $"the file (revision {item.Revision}) is newer than the state (revision {expected.StateRevision})");
        }

        if (expected.Current is null && expected.Checkpointed is null && !expected.DeletionRecorded)
        {
            return new ItemFileJudgement(ItemFileVerdict.NotInTheState, $"the state holds no {kindName} '{item.Id}' (a file added by hand?)");
        }

        if (item.Revision > expected.CheckpointRevision
            && (expected.Current is null ? expected.DeletionRecorded : item.Revision < expected.Current.Revision))
        {
            return new ItemFileJudgement(ItemFileVerdict.WrittenByAnInterruptedCheckpoint, null);
        }

        string state = expected.Current is null ? "deleted it" : $"holds revision {expected.Current.Revision}";
        return new ItemFileJudgement(ItemFileVerdict.Differs, $"the file (revision {item.Revision}) differs from the state, which {state} (edited by hand?)");
    }

    /// <summary>The file's content with its envelope opened, or null (<paramref name="failure"/> says why).</summary>
    private static byte[]? Open(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string path, string id, out ItemFileJudgement failure)
    {
        failure = default;
        byte[] stored;
        try
        {
            stored = fileSystem.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            failure = new ItemFileJudgement(ItemFileVerdict.Vanished, null);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failure = new ItemFileJudgement(ItemFileVerdict.Unreadable, $"the {KindName(kind)} file cannot be read ({ex.Message})", ex);
            return null;
        }

        try
        {
            return envelope.Open(kind, id, stored, path);
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            // The envelope's own message says what failed ("the file does not parse (...)", a checksum): not wrapped in
            // a second "does not parse".
            failure = new ItemFileJudgement(ItemFileVerdict.DoesNotParse, $"the {KindName(kind)} file is damaged: {ex.Message}");
            return null;
        }
    }

    private static StoredItem? Parse(PayloadKind kind, string id, byte[] json, out ItemFileJudgement failure)
    {
        failure = default;
        StoredItem item;
        try
        {
            item = kind == PayloadKind.Task ? ItemCodec.TaskItem(json) : ItemCodec.SessionItem(json);
        }
        catch (Exception ex) when (Journal.JournalReplay.IsParseFailure(ex))
        {
            failure = new ItemFileJudgement(ItemFileVerdict.DoesNotParse, $"the {KindName(kind)} file does not parse ({ex.Message})");
            return null;
        }

        if (item.Id != id)
        {
            failure = new ItemFileJudgement(ItemFileVerdict.OtherItem,
                $"the {KindName(kind)} inside has id {StateId.Quote(item.Id)}, not '{id}' as its file name says");
            return null;
        }

        return item;
    }

    private static bool Holds(byte[] json, StoredItem? copy) => copy is not null && json.AsSpan().SequenceEqual(copy.Json);

    private static string KindName(PayloadKind kind) => kind == PayloadKind.Task ? "task" : "session";
}

/// <summary>
/// What an item file is judged against: the last completed checkpoint (its revision and its copy of the item), the
/// state (its copy and its revision) and whether the state records the item's deletion since that checkpoint.
/// </summary>
internal readonly record struct ItemFileExpectation(long CheckpointRevision, StoredItem? Checkpointed, long StateRevision, StoredItem? Current,
    bool DeletionRecorded);

/// <summary>
/// The verdict on one item file, and the problem (null when there is none); for <see cref="ItemFileVerdict.Unreadable"/>,
/// the file system's error.
/// </summary>
internal readonly record struct ItemFileJudgement(ItemFileVerdict Verdict, string? Problem, Exception? Error = null);

/// <summary>What <see cref="ItemFileRule"/> found in an item file.</summary>
internal enum ItemFileVerdict
{
    /// <summary>The last checkpoint's copy or the state's, byte for byte.</summary>
    Agrees,

    /// <summary>A version between the last checkpoint's and the state's, which a checkpoint a crash interrupted wrote.</summary>
    WrittenByAnInterruptedCheckpoint,

    /// <summary>Gone between the listing and the read (a running server's checkpoint deleted it).</summary>
    Vanished,

    /// <summary>
    /// The file system refused the read (permissions, an I/O error, no descriptor left): nothing is known of the content,
    /// so this is no damage (the scrub leaves such a file as it is and reports it).
    /// </summary>
    Unreadable,

    /// <summary>The envelope does not check out, or its content is no task or session.</summary>
    DoesNotParse,

    /// <summary>An item whose id is not the file's name.</summary>
    OtherItem,

    /// <summary>A revision newer than the state's (a checkpoint ran after the state was read, or an edit by hand).</summary>
    NewerThanTheState,

    /// <summary>An item the state neither holds nor records the deletion of.</summary>
    NotInTheState,

    /// <summary>Another version of the item than the rule accepts.</summary>
    Differs,
}
