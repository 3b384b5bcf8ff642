using System.Text.Json;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// Imports the Node implementation's reports (<c>reports/report_&lt;id&gt;_&lt;epoch-ms&gt;.json</c>, one file per
/// <c>saveReport</c> call) as <c>reports/report_&lt;id&gt;.json</c> under their real id, in this library's report
/// format. When one id has several files the newest valid one wins and the others are deleted (the pre-migration
/// backup holds them); a file that is not a report (not JSON, not an object, another id inside) is moved aside as any
/// corrupt file, never imported or deleted.
/// </summary>
internal static class NodeReports
{
    public static void Import(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        var byId = new SortedDictionary<string, List<(long EpochMs, string Name)>>(StringComparer.Ordinal);
        foreach (string name in context.FileSystem.ListFiles(layout.ReportsDirectory))
        {
            if (!NodeFileNames.TryParseReport(name, out string id, out long epochMs))
            {
                continue;
            }

            if (!StateId.IsValid(id))
            {
                context.MoveAside(Path.Combine(layout.ReportsDirectory, name), $"the report id {StateId.Quote(id)} in its name is not a valid id");
                continue;
            }

            if (!byId.TryGetValue(id, out List<(long, string)>? files))
            {
                byId[id] = files = [];
            }

            files.Add((epochMs, name));
        }

        foreach ((string id, List<(long EpochMs, string Name)> files) in byId)
        {
            // Newest first: the first valid file wins.
            files.Sort((a, b) => a.EpochMs != b.EpochMs ? b.EpochMs.CompareTo(a.EpochMs) : string.CompareOrdinal(b.Name, a.Name));
            ImportOne(context, id, files);
        }
    }

    private static void ImportOne(MigrationContext context, string id, List<(long EpochMs, string Name)> files)
    {
        StateLayout layout = context.Layout;
        string target = layout.ReportFile(id);
        bool kept = context.FileSystem.FileExists(target);
        string? winner = null;
        var older = new List<string>();
        foreach ((_, string name) in files)
        {
            string path = Path.Combine(layout.ReportsDirectory, name);
            // The value alone: a Node program's file may end in a newline, or start with a byte order mark.
            byte[] json = JsonValueBytes.TrimAround(context.FileSystem.ReadAllBytes(path)).ToArray();
            if (Problem(json, id) is { } problem)
            {
                context.MoveAside(path, problem);
                continue;
            }

            if (winner is null && !kept)
            {
                context.Write(target, context.Envelope.Seal(PayloadKind.Report, id, json));
                context.ExpectedReports[id] = json;
                winner = name;
            }
            else
            {
                older.Add(name);
            }

            context.Delete(path);
        }

        string others = older.Count == 0 ? "" : $"; {string.Join(", ", older)} {(older.Count == 1 ? "is" : "are")} kept only in the pre-migration backup";
        context.Log.Add(winner is not null
            ? $"  report {id}: {winner} (the newest valid file) imported as {context.Relative(target)}{others}"
            : kept
                ? $"  report {id}: {context.Relative(target)} already exists in this library's format and was kept{others}"
                : $"  report {id}: no valid file, nothing imported (see the files moved aside above)");
    }

    /// <summary>
    /// Why the file cannot be the report: not JSON, or not what a report of this library is (an object, with no other
    /// id inside), which <c>statectl verify</c> and <c>import</c> would refuse after the migration (they were imported
    /// before 2026-12-06, and an export of the migrated directory was then refused).
    /// </summary>
    private static string? Problem(byte[] json, string id)
    {
        try
        {
            return Operations.ReportContent.Problem(json, id);
        }
        catch (JsonException ex)
        {
            return $"not valid JSON ({ex.Message})";
        }
    }
}
