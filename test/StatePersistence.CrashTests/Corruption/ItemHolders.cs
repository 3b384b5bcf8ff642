using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Serialization;
using static StatePersistence.CrashTests.Enumeration.RecoveredContent;

namespace StatePersistence.CrashTests.Corruption;

/// <summary>
/// Which undamaged files of a trial's directory hold an item's newest value, read the simple way (as JSON, without
/// the library's recovery): its own file and <c>state.json</c>. Backups hold older versions (an equal value there may
/// be an earlier one that recurred), and the journal is binary and not read here, so an item whose only copy was in
/// a damaged journal segment is never demanded.
/// </summary>
internal sealed class ItemHolders(string root, HashSet<string> damaged, bool countItemFiles)
{
    private List<PersistedState>? _states;

    /// <summary>Whether a file the corruption did not touch holds exactly <paramref name="value"/> for <paramref name="key"/>.</summary>
    public bool UndamagedCopyHolds(string key, string value)
    {
        if (key.StartsWith("task/", StringComparison.Ordinal))
        {
            string id = key["task/".Length..];
            return Holds(Path.Combine("tasks", id + ".json"), bytes => Json(WithoutEnvelope(ItemCodec.DeserializeTask(bytes))) == value)
                || States().Any(s => s.Tasks.Any(t => t.Id == id && Json(t) == value));
        }

        if (key.StartsWith("session/", StringComparison.Ordinal))
        {
            string id = key["session/".Length..];
            return Holds(Path.Combine("sessions", id + ".json"), bytes => Json(WithoutEnvelope(ItemCodec.DeserializeSession(bytes))) == value)
                || States().Any(s => s.Sessions.Any(t => t.Id == id && Json(t) == value));
        }

        if (key.StartsWith("report/", StringComparison.Ordinal))
        {
            // A report has one copy: when its file is untouched, it must be served.
            return !damaged.Contains(Path.Combine("reports", "report_" + key["report/".Length..] + ".json"));
        }

        return false;
    }

    /// <summary>
    /// The item as a simple reader sees it: an item file's envelope is its last property (<c>$envelope</c>), which
    /// deserializes as one more application field; the item is what is left without it.
    /// </summary>
    private static AgentTask WithoutEnvelope(AgentTask task)
    {
        task.ExtensionData?.Remove("$envelope");
        task.ExtensionData = task.ExtensionData is { Count: > 0 } ? task.ExtensionData : null;
        return task;
    }

    private static SessionInfo WithoutEnvelope(SessionInfo session)
    {
        session.ExtensionData?.Remove("$envelope");
        session.ExtensionData = session.ExtensionData is { Count: > 0 } ? session.ExtensionData : null;
        return session;
    }

    private bool Holds(string relativePath, Func<byte[], bool> holds)
    {
        string path = Path.Combine(root, relativePath);
        if (!countItemFiles || damaged.Contains(relativePath) || !File.Exists(path))
        {
            return false;
        }

        try
        {
            return holds(File.ReadAllBytes(path));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private List<PersistedState> States()
    {
        if (_states is null)
        {
            _states = [];
            foreach (string path in (string[])[Path.Combine(root, "state.json")])
            {
                string name = Path.GetFileName(path);
                if (damaged.Contains(name) || !File.Exists(path))
                {
                    continue;
                }

                try
                {
                    if (JsonSerializer.Deserialize(File.ReadAllBytes(path), StateJsonContext.Default.PersistedState) is { } state)
                    {
                        _states.Add(state);
                    }
                }
                catch (JsonException)
                {
                    // Not a state a careful reader could use.
                }
            }
        }

        return _states;
    }
}
