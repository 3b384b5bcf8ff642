using System.Formats.Tar;
using System.IO.Compression;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>Task archives written by the library into a state directory, and damage done to them, for the commands that read them.</summary>
internal static class TaskArchiveFixtures
{
    /// <summary>Three archives of one completed task each, t_a, t_b and t_c, oldest first, written by the library.</summary>
    public static async Task<(string A, string B, string C)> WriteThreeAsync(string statePath)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await using StatePersistenceService service = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = statePath }, cancellationToken: Http.Ct);
        var archives = new List<string>();
        foreach ((string id, int daysAgo) in new[] { ("t_a", 30), ("t_b", 20), ("t_c", 10) })
        {
            await service.SaveTaskAsync(new AgentTask { Id = id, Description = "task " + id, Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-daysAgo) }, Http.Ct);
            TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, now.AddDays(-daysAgo + 1), cancellationToken: Http.Ct);
            Assert.Equal(new[] { id }, result.Tasks);
            archives.Add(result.Archive!);
        }

        Assert.Equal(archives, Directory.EnumerateFiles(TaskArchives.DirectoryOf(statePath)).Order(StringComparer.Ordinal));
        return (archives[0], archives[1], archives[2]);
    }

    /// <summary>Cuts the archive's last four bytes: the gzip trailer's length, the manifest and every entry still whole.</summary>
    public static void CutTrailer(string archive) => File.WriteAllBytes(archive, File.ReadAllBytes(archive)[..^4]);

    /// <summary>
    /// Writes the archive again, a sound gzip and tar, with the task's entry changed after its manifest was written:
    /// damage that only a read of the whole archive finds.
    /// </summary>
    public static void ChangeTaskEntry(string archive, string taskId)
    {
        var entries = new List<(string Name, byte[] Content)>();
        using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                using var content = new MemoryStream();
                entry.DataStream?.CopyTo(content);
                byte[] bytes = content.ToArray();
                entries.Add((entry.Name, entry.Name == $"tasks/{taskId}.json" ? [.. bytes, .. " "u8] : bytes));
            }
        }

        using var output = new GZipStream(File.Create(archive), CompressionLevel.Optimal);
        using var writer = new TarWriter(output, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in entries)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
    }
}
