using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Peers;

/// <summary>
/// The seed's layout, one <c>tasks/&lt;id&gt;.json</c> per task, pre-created so the file cases measure the steady
/// state (replacing an existing task file), with every path computed up front.
/// </summary>
internal sealed class TaskFiles
{
    private TaskFiles(string directory, string[] paths, string[] tempPaths)
    {
        Directory = directory;
        Paths = paths;
        TempPaths = tempPaths;
    }

    public string Directory { get; }

    public string[] Paths { get; }

    /// <summary><c>&lt;id&gt;.json.tmp</c> beside each task file.</summary>
    public string[] TempPaths { get; }

    public static TaskFiles Create(string root, TaskDocuments documents)
    {
        string directory = Path.Combine(root, "tasks");
        System.IO.Directory.CreateDirectory(directory);
        var paths = new string[TaskDocuments.KeySpace];
        var tempPaths = new string[TaskDocuments.KeySpace];
        for (int i = 0; i < paths.Length; i++)
        {
            paths[i] = Path.Combine(directory, documents.Ids[i] + ".json");
            tempPaths[i] = paths[i] + ".tmp";
            File.WriteAllBytes(paths[i], documents.Utf8[TaskDocuments.KeySpace + i]); // version 1: the first save differs
        }

        return new TaskFiles(directory, paths, tempPaths);
    }
}
