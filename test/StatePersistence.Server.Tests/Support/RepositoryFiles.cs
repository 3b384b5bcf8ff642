namespace StatePersistence.Server.Tests.Support;

/// <summary>Files of the repository the tests check against (the README, the Grafana dashboard).</summary>
public static class RepositoryFiles
{
    /// <summary>The path of <paramref name="relative"/> in the repository holding StatePersistence.sln.</summary>
    public static string Find(string relative)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StatePersistence.sln")))
            {
                return Path.Combine(directory.FullName, relative);
            }
        }

        throw new FileNotFoundException("StatePersistence.sln was not found above " + AppContext.BaseDirectory);
    }
}
