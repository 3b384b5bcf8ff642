using System.Formats.Tar;
using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Operations;

/// <summary>
/// <c>statectl export</c> (<see cref="StateArchive.Export(string, string, IPayloadCodec?, TimeProvider?)"/>) writing
/// over an earlier archive, crashed before every file-system operation of the archive's folder and once after the last,
/// every crash state sampled under both crash models. The state directory it reads is a real one; only the folder the
/// archive is written to is the simulated disk, so the sweep is over the archive's writes: its temp file, the fsync,
/// the rename over the earlier archive and the directory fsync. The file at the archive's path must always be the
/// earlier archive or the new one whole, never a torn or empty one; and once the export returned, the new one (before
/// this test no crash test covered the export, and removing its directory fsync went unnoticed: a power cut after it
/// returned could leave the earlier archive, or, with none, no archive at all).
/// </summary>
public sealed class ExportCrashTests(ReliabilityLedger ledger)
{
    private const int StatesPerPoint = 12;
    private static readonly byte[] EarlierArchive = "the earlier archive, whole"u8.ToArray();

    [Fact]
    public async Task Export_CrashedAnywhere_LeavesTheEarlierArchiveOrTheNewOneWhole_AndOnceItReturned_TheNewOne()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "statectl export", StatesPerPoint);
        using var directory = new TempDirectory();
        string state = directory.File("state");
        await WriteStateAsync(state, ct);
        string folder = directory.File("exports");
        // Real too: the export looks for the archive's folder on the disk before it writes through the file system.
        Directory.CreateDirectory(folder);
        string archive = Path.Combine(folder, "state.tar.gz");

        CrashSimulatingFileSystem dry = NewDisk(folder, archive);
        int start = dry.OperationCount;
        Export(dry, folder, state, archive);
        sweep.Begin(dry, start);
        Dictionary<string, string> expected = Entries(dry.ReadAllBytes(archive));
        Assert.Contains("tasks/t1.json", expected.Keys);
        Assert.Contains("logs/session_s1.log", expected.Keys);
        Assert.Contains("reports/report_r1.json", expected.Keys);

        foreach (int point in sweep.Points)
        {
            CrashSimulatingFileSystem disk = NewDisk(folder, archive);
            bool returned = await sweep.RunAsync(disk, point, () =>
            {
                Export(disk, folder, state, archive);
                return Task.CompletedTask;
            });
            await sweep.CheckStatesAsync(disk, point, image => Task.FromResult(Check(image, archive, expected, returned)));
        }

        sweep.ThrowIfAny();
    }

    /// <summary>The earlier archive or the new one whole; once the export returned, the new one.</summary>
    private static string? Check(DurableImage image, string archive, Dictionary<string, string> expected, bool returned)
    {
        if (!image.FileExists(archive))
        {
            return "no file at the archive's path: the earlier archive is gone" + (returned ? ", and the export had returned" : "");
        }

        byte[] bytes = image.ReadFile(archive);
        if (bytes.AsSpan().SequenceEqual(EarlierArchive))
        {
            return returned ? "the export returned, yet the archive's path holds the earlier archive" : null;
        }

        Dictionary<string, string> entries;
        try
        {
            entries = Entries(bytes);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            return $"the archive's path holds a file that does not read ({bytes.Length} bytes): {ex.Message}";
        }

        return entries.Count == expected.Count && entries.All(e => expected.TryGetValue(e.Key, out string? content) && content == e.Value)
            ? null
            : $"the archive's path holds an archive of other entries: {string.Join(", ", entries.Keys)}";
    }

    /// <summary>The archive's folder simulated, holding the earlier archive durably; everything else on the real disk.</summary>
    private static CrashSimulatingFileSystem NewDisk(string folder, string archive)
    {
        var disk = new CrashSimulatingFileSystem(folder);
        using (IFileHandle file = disk.Open(archive, FileOpenMode.CreateNew))
        {
            file.Write(0, EarlierArchive);
            file.Sync();
        }

        disk.SyncDirectory(folder);
        return disk;
    }

    private static void Export(CrashSimulatingFileSystem disk, string folder, string state, string archive) =>
        StateArchive.Export(state, archive, null, Services.NewClock(), new FolderOnDisk(PhysicalFileSystem.Instance, folder, disk), TestContext.Current.CancellationToken);

    /// <summary>Every entry of an archive (name, content as Base64), its gzip trailer checked.</summary>
    private static Dictionary<string, string> Entries(byte[] archive)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        using var gzip = new CheckedGzipReader(new MemoryStream(archive, writable: false));
        using (var tar = new TarReader(gzip, leaveOpen: true))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                using var content = new MemoryStream();
                entry.DataStream?.CopyTo(content);
                entries.Add(entry.Name, Convert.ToBase64String(content.ToArray()));
            }
        }

        return gzip.TrailerProblem() is { } problem ? throw new InvalidDataException(problem) : entries;
    }

    /// <summary>A state directory with tasks, a session with its log, and a report, written by a real service.</summary>
    private static async Task WriteStateAsync(string state, CancellationToken ct)
    {
        await using StatePersistenceService service = Services.Create(Services.Options(state), PhysicalFileSystem.Instance, Services.NewClock());
        await service.StartAsync(ct);
        Assert.True(await service.CreateTaskAsync(new AgentTask { Id = "t1", Description = "task one", Status = TaskStatuses.Pending }, ct));
        Assert.True(await service.CreateTaskAsync(new AgentTask { Id = "t2", Description = "task two", Status = TaskStatuses.Completed }, ct));
        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, ct));
        await service.AppendSessionLogAsync("s1", "line one\n", ct);
        await service.SaveReportAsync("r1", JsonDocument.Parse("""{"summary":"one"}""").RootElement, ct);
    }

    /// <summary>Calls on paths in <paramref name="folder"/> go to <paramref name="disk"/>, all others to <paramref name="inner"/>.</summary>
    private sealed class FolderOnDisk(IFileSystem inner, string folder, IFileSystem disk) : PassThroughFileSystem(inner)
    {
        private IFileSystem For(string path) =>
            path == folder || path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? disk : Inner;

        public override void CreateDirectory(string path) => For(path).CreateDirectory(path);

        public override bool DirectoryExists(string path) => For(path).DirectoryExists(path);

        public override bool FileExists(string path) => For(path).FileExists(path);

        public override IFileHandle Open(string path, FileOpenMode mode) => For(path).Open(path, mode);

        public override void Rename(string sourcePath, string destinationPath) =>
            (For(sourcePath) == For(destinationPath) ? For(sourcePath) : throw new IOException("a rename across the simulated and the real disk"))
                .Rename(sourcePath, destinationPath);

        public override void Link(string existingPath, string newPath) => For(newPath).Link(existingPath, newPath);

        public override void Delete(string path) => For(path).Delete(path);

        public override void SyncDirectory(string path) => For(path).SyncDirectory(path);

        public override IReadOnlyList<string> ListFiles(string directory) => For(directory).ListFiles(directory);

        public override long GetAvailableFreeSpace(string path) => For(path).GetAvailableFreeSpace(path);

        public override IDisposable AcquireLock(string path) => For(path).AcquireLock(path);

        public override FileIdentity? IdentityOf(string path) => For(path).IdentityOf(path);
    }
}
