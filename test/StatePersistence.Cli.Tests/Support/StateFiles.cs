using System.Text.Json;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>Reads a state directory's files directly, to check what a command left on disk.</summary>
public static class StateFiles
{
    /// <summary>Every file under <paramref name="root"/> (relative path) and its bytes.</summary>
    public static Dictionary<string, byte[]> Snapshot(string root) =>
        new DirectoryInfo(root).GetFiles("*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f.FullName), f => File.ReadAllBytes(f.FullName), StringComparer.Ordinal);

    /// <summary>Asserts that every file is still there with the same bytes, and nothing was added.</summary>
    public static void AssertUnchanged(Dictionary<string, byte[]> before, string root)
    {
        Dictionary<string, byte[]> after = Snapshot(root);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, byte[] bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"'{name}' changed");
        }
    }

    /// <summary>The <c>revision</c> and task ids of a snapshot file (<c>state.json</c> or a backup).</summary>
    public static (long Revision, string[] TaskIds) ReadSnapshot(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        return (document.RootElement.GetProperty("revision").GetInt64(),
            [.. document.RootElement.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("id").GetString()!).Order(StringComparer.Ordinal)]);
    }
}
