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
/// A task archive whose manifest parses but holds null where a task or an entry is, or for a task's id, its session log
/// or report ids, or an entry's name, is not a task archive's manifest: the restore refuses it, and the whole read of
/// <c>statectl verify</c> and <c>statectl archive list --verify</c> (<see cref="TaskArchives.CheckFiles"/>) and the
/// listing by task (<c>archive list --task</c>, <see cref="TaskArchives.ListFiles"/>) name it as one whose manifest does
/// not read. Before 2026-12-07 a null entry or entry name threw out of the whole read (a NullReferenceException, an
/// ArgumentNullException: verify stopped there), a null task out of the listing by task and the restore, null lists
/// out of the restore, each naming neither the archive nor what was wrong; and of a task with a null id the whole read
/// said "reads whole", the listing by task left the archive out, and the restore refused its entry 'tasks/.json'.
/// </summary>
public sealed class ArchiveManifestWithAMissingFieldTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Where the manifest holds a null: a JSON path of it ("entries/0" the first entry, "tasks/0/id" its field).</summary>
    public static TheoryData<string> Nulls => ["entries/0", "entries/0/name", "tasks/0", "tasks/0/id", "tasks/0/sessionLogs", "tasks/0/reports"];

    [Theory]
    [MemberData(nameof(Nulls))]
    public async Task AManifestHoldingANull_IsNotATaskArchivesManifest_ToTheRestoreTheWholeReadAndTheListingByTask(string at)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-10) }, Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, now.AddDays(-1), cancellationToken: Ct);
        string archive = archived.Archive!;
        SetNull(archive, at);

        TaskArchiveInfo checkedWhole = Assert.Single(TaskArchives.CheckFiles(_fixture.StatePath, cancellationToken: Ct));
        TaskArchiveInfo listedByTask = Assert.Single(TaskArchives.ListFiles(_fixture.StatePath, ["old"]));
        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(
            () => TaskArchives.RestoreAsync(service, Path.GetFileName(archive), Ct));

        const string problem = "its entry 'manifest.json' is not a task archive's manifest";
        Assert.NotNull(checkedWhole.Problem);
        Assert.True(checkedWhole.Problem.Contains(problem, StringComparison.Ordinal), checkedWhole.Problem);
        Assert.Null(listedByTask.Tasks);
        Assert.NotNull(listedByTask.Problem);
        Assert.True(listedByTask.Problem.Contains(problem, StringComparison.Ordinal), listedByTask.Problem);
        Assert.True(refused.Message.Contains(problem, StringComparison.Ordinal), refused.Message);
        Assert.EndsWith("Nothing was restored.", refused.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("old", Ct));
    }

    /// <summary>Writes the archive again, a sound gzip and tar with its entries as they were, its manifest holding null at <paramref name="at"/>.</summary>
    private static void SetNull(string archive, string at)
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

        JsonNode manifest = JsonNode.Parse(entries[0].Content)!;
        string[] steps = at.Split('/');
        JsonNode parent = manifest;
        foreach (string step in steps[..^1])
        {
            parent = int.TryParse(step, out int index) ? parent[index]! : parent[step]!;
        }

        if (int.TryParse(steps[^1], out int last))
        {
            parent[last] = null;
        }
        else
        {
            parent[steps[^1]] = null;
        }

        entries[0] = (entries[0].Name, System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        using var output = new GZipStream(File.Create(archive), CompressionLevel.Optimal);
        using var writer = new TarWriter(output, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in entries)
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
        }
    }
}
