namespace StatePersistence.Tests.Support;

/// <summary>
/// The state directories earlier builds of this project wrote (<c>Fixtures/Upgrades/</c>, each described in its
/// README with the commit and the requests that made it), copied to the build output.
/// </summary>
internal static class UpgradeFixtures
{
    /// <summary>Copies fixture <paramref name="name"/> into <paramref name="stateDirectory"/>, which must not exist yet.</summary>
    public static void CopyTo(string name, string stateDirectory)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Upgrades", name);
        Assert.True(Directory.Exists(source), $"the fixture '{name}' is not in the build output ({source})");
        Assert.False(Directory.Exists(stateDirectory), $"'{stateDirectory}' already exists");
        foreach (string file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(stateDirectory, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
