using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Retention;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A task archive whose manifest lists one entry twice is damaged, and the restore and the whole read of
/// <c>statectl archive list --verify</c> and <c>statectl verify</c> (<see cref="TaskArchives.CheckFiles"/>) say so in
/// the same words: no writer of this library lists an entry twice. Before 2026-12-07 the two reads each wrote out the
/// rules: the whole read kept the last listing of a name and the restore checked the entry against each, so of an
/// archive listing a task's entry first with another length and hash, then with its own, verify said "reads whole"
/// and the restore refused it; one listing it twice alike was restored, and could not be re-encrypted: that writes
/// each entry listed, so this one twice, which every read refuses.
/// </summary>
public sealed class ArchiveManifestListingTwiceTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnArchiveWhoseManifestListsAnEntryTwice_IsDamaged_ToTheRestoreAndToTheWholeRead_InTheSameWords(bool firstListingWrong)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-10) }, Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, now.AddDays(-1), cancellationToken: Ct);
        string archive = archived.Archive!;
        ListTaskEntryTwice(archive, "tasks/old.json", firstListingWrong);

        TaskArchiveInfo checkedWhole = Assert.Single(TaskArchives.CheckFiles(_fixture.StatePath, cancellationToken: Ct));
        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(
            () => TaskArchives.RestoreAsync(service, Path.GetFileName(archive), Ct));

        string problem = $"its entry '{TaskArchiveManifestName}' lists the entry 'tasks/old.json' twice";
        Assert.NotNull(checkedWhole.Problem);
        Assert.True(checkedWhole.Problem.Contains(problem, StringComparison.Ordinal), checkedWhole.Problem);
        Assert.True(refused.Message.Contains(problem, StringComparison.Ordinal), refused.Message);
        Assert.EndsWith("Nothing was restored.", refused.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("old", Ct));
    }

    private const string TaskArchiveManifestName = "manifest.json";

    /// <summary>
    /// Writes the archive again, a sound gzip and tar with its entries as they were, its manifest listing
    /// <paramref name="entry"/> twice: its own listing second, after one of another length and hash or after itself.
    /// </summary>
    private static void ListTaskEntryTwice(string archive, string entry, bool firstListingWrong)
    {
        var entries = new List<(string Name, byte[] Content)>();
        using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } read)
            {
                using var content = new MemoryStream();
                read.DataStream?.CopyTo(content);
                entries.Add((read.Name, content.ToArray()));
            }
        }

        JsonObject manifest = JsonNode.Parse(entries[0].Content)!.AsObject();
        JsonArray listed = manifest["entries"]!.AsArray();
        JsonNode own = listed.Single(e => (string?)e!["name"] == entry)!;
        JsonNode first = own.DeepClone();
        if (firstListingWrong)
        {
            first["length"] = 1;
            first["sha256"] = new string('0', 64);
        }

        listed.Insert(listed.IndexOf(own), first);
        entries[0] = (entries[0].Name, System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));

        using var output = new GZipStream(File.Create(archive), CompressionLevel.Optimal);
        using var writer = new TarWriter(output, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in entries)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
    }
}
