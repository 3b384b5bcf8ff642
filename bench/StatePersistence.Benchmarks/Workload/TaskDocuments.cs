using System.Text;
using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Benchmarks.Workload;

/// <summary>
/// The ~1 KB task documents the save cases write: <see cref="KeySpace"/> tasks in the library's own JSON format,
/// each in <see cref="Versions"/> versions, serialized once up front so every case writes the same bytes and no
/// case pays for serialization in its timing. Consecutive saves of a task alternate versions, because a store
/// may skip a write that changes nothing (SQLite does: an upsert of identical bytes writes no page and no fsync).
/// </summary>
public sealed class TaskDocuments
{
    /// <summary>How many distinct tasks the save cases cycle through (a multiple of every writer count used).</summary>
    public const int KeySpace = 1024;

    /// <summary>Versions of each task; a task's consecutive saves always differ.</summary>
    public const int Versions = 2;

    private TaskDocuments()
    {
        var ids = new string[KeySpace];
        var utf8 = new byte[KeySpace * Versions][];
        var json = new string[KeySpace * Versions];
        for (int key = 0; key < KeySpace; key++)
        {
            ids[key] = SampleTasks.IdOf(key);
            for (int version = 0; version < Versions; version++)
            {
                int document = version * KeySpace + key;
                utf8[document] = JsonSerializer.SerializeToUtf8Bytes(SampleTasks.Create(key, version),
                    StateJsonContext.Default.AgentTask);
                json[document] = Encoding.UTF8.GetString(utf8[document]);
            }
        }

        (Ids, Utf8, Json) = (ids, utf8, json);
    }

    /// <summary>Task ids by key, <c>task-000000</c> onwards.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Each document's JSON as UTF-8, by document number (see <see cref="Pick"/>).</summary>
    public IReadOnlyList<byte[]> Utf8 { get; }

    /// <summary>Each document's JSON as a string (for APIs that take text), by document number.</summary>
    public IReadOnlyList<string> Json { get; }

    /// <summary>Size of one document in bytes (they differ by a byte or two at most).</summary>
    public int DocumentBytes => Utf8[0].Length;

    /// <summary>Builds the documents.</summary>
    public static TaskDocuments Create() => new();

    /// <summary>
    /// What <paramref name="writer"/> of <paramref name="writers"/> saves in its operation
    /// <paramref name="sequence"/>: the task's key (index into <see cref="Ids"/>) and the document (index into
    /// <see cref="Utf8"/> and <see cref="Json"/>). Writers never share a key; each cycles through its share of the
    /// key space, and a key's consecutive saves alternate versions.
    /// </summary>
    public static (int Key, int Document) Pick(int writer, int writers, long sequence)
    {
        long n = sequence * writers + writer;
        int key = (int)(n % KeySpace);
        int version = (int)(n / KeySpace % Versions);
        return (key, version * KeySpace + key);
    }
}
