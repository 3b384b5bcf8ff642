namespace StatePersistence.Cli.Tests.Support;

/// <summary>Every file under a directory with its bytes, to prove a read-only command changed nothing.</summary>
public static class DirectoryContents
{
    public static SortedDictionary<string, byte[]> Read(string directory)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            files[Path.GetRelativePath(directory, path)] = File.ReadAllBytes(path);
        }

        return files;
    }

    /// <summary>Asserts that the same files exist with the same bytes.</summary>
    public static void AssertUnchanged(SortedDictionary<string, byte[]> before, string directory)
    {
        SortedDictionary<string, byte[]> after = Read(directory);
        Assert.Equal(before.Keys, after.Keys);
        foreach ((string name, byte[] bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"'{name}' changed");
        }
    }
}
