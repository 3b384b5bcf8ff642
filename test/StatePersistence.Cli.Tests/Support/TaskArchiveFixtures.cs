using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
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

    /// <summary>
    /// Writes the archive again, a sound gzip and tar, after <paramref name="change"/> edited its manifest (as JSON) and
    /// its other entries; the manifest's list of entries is then written again from the entries, with their lengths and
    /// SHA-256: damage the entries and hashes agree on, so only the rules of what a manifest names find it.
    /// </summary>
    public static void RewriteConsistently(string archive, Action<JsonObject, List<(string Name, byte[] Content)>> change)
    {
        var entries = new List<(string Name, byte[] Content)>();
        using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                using var content = new MemoryStream();
                entry.DataStream?.CopyTo(content);
                entries.Add((entry.Name, content.ToArray()));
            }
        }

        JsonObject manifest = JsonNode.Parse(entries[0].Content)!.AsObject();
        List<(string Name, byte[] Content)> rest = entries[1..];
        change(manifest, rest);
        manifest["entries"] = new JsonArray([.. rest.Select(e => (JsonNode)new JsonObject
        {
            ["name"] = e.Name,
            ["length"] = e.Content.Length,
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(e.Content)),
        })]);
        using var output = new GZipStream(File.Create(archive), CompressionLevel.Optimal);
        using var writer = new TarWriter(output, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in rest.Prepend(("manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()))))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
    }
}
