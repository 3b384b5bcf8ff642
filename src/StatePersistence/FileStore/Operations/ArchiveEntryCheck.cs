using System.Security.Cryptography;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Whether an export's entry holds what it should, checked before an import writes anything: <c>state.json</c>
/// parses whole with its checksum, each task and session file opens (its envelope's checksum) and holds exactly the
/// item the archive's <c>state.json</c> holds, and each report opens and is what verify wants of one (<see cref="ReportContent"/>);
/// session logs are checked as they are read (<see cref="ArchiveLogCheck"/>). A damaged archive is refused
/// rather than restored into a directory whose first start would move files aside. Files the store does not name
/// (a stray file an export copied from <c>reports/</c> or <c>logs/</c>) are restored as they are, unchecked.
/// </summary>
internal static class ArchiveEntryCheck
{
    /// <summary>The archive's state, or throws <see cref="InvalidDataException"/> saying why it is damaged.</summary>
    public static StateView State(byte[] content, PayloadEnvelope envelope, string label)
    {
        try
        {
            return SnapshotReader.Read(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, content, label), label).View;
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"it does not open ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Why the entry <paramref name="name"/> (<c>tasks/...</c>, <c>sessions/...</c>, <c>reports/...</c>) is damaged,
    /// or null. <paramref name="state"/> is the archive's state when it came before the
    /// entry (an export writes it first).
    /// </summary>
    public static string? Problem(string name, byte[] content, PayloadEnvelope envelope, StateView? state, string label)
    {
        string folder = name[..name.IndexOf('/', StringComparison.Ordinal)];
        string file = name[(folder.Length + 1)..];
        try
        {
            return folder switch
            {
                "tasks" when StateLayout.ItemId(file) is { } id && StateId.IsValid(id) =>
                    ItemProblem(envelope.Open(PayloadKind.Task, id, content, label), id, state?.Tasks),
                "sessions" when StateLayout.ItemId(file) is { } id && StateId.IsValid(id) =>
                    ItemProblem(envelope.Open(PayloadKind.Session, id, content, label), id, state?.Sessions),
                "reports" when file.StartsWith("report_", StringComparison.Ordinal) && StateLayout.ItemId(file) is { } stem
                    && StateId.IsValid(stem["report_".Length..]) =>
                    ReportProblem(envelope.Open(PayloadKind.Report, stem["report_".Length..], content, label), stem["report_".Length..]),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is InvalidDataException or CryptographicException)
        {
            return $"it does not open ({ex.Message})";
        }
    }

    private static string? ItemProblem(byte[] json, string id, System.Collections.Immutable.ImmutableSortedDictionary<string, StoredItem>? items)
    {
        if (items is null)
        {
            return null;
        }

        return !items.TryGetValue(id, out StoredItem? item) ? $"the archive's state.json holds no '{id}'"
            : json.AsSpan().SequenceEqual(item.Json) ? null
            : $"it differs from '{id}' in the archive's state.json";
    }

    private static string? ReportProblem(byte[] json, string id)
    {
        try
        {
            return ReportContent.Problem(json, id);
        }
        catch (JsonException ex)
        {
            return $"the report does not parse ({ex.Message})";
        }
    }
}
