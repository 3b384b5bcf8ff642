using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Cli.Tests.Archive;

public sealed class ExportImportCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string Restored => _temp.Combine("restored");

    private string ArchivePath => _temp.Combine("backup.tar.gz");

    [Fact]
    public async Task ExportThenImport_IntoAnEmptyDirectory_OpensWithTheLibrary_AndEqualsTheExport()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        var before = DirectoryContents.Read(StatePath);

        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath, "--json");
        StatectlRun imported = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored, "--json");

        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Equal(3, exported.Json().GetProperty("tasks").GetInt32());
        Assert.Equal(1, exported.Json().GetProperty("logs").GetInt32());
        Assert.Equal(1, exported.Json().GetProperty("reports").GetInt32());
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
        DirectoryContents.AssertUnchanged(before, StatePath);
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Equal(exported.Json().GetProperty("revision").GetInt64(), imported.Json().GetProperty("revision").GetInt64());

        StateView original = StateDirectoryReader.Read(StatePath).View;
        await using (var store = new FileStateStore(new StatePersistenceOptions { StatePath = Restored }))
        {
            RecoveredState opened = await store.OpenAsync(Http.Ct);
            Assert.False(opened.Report.CorruptionDetected, string.Join("\n", opened.Report.Warnings.Concat(opened.Report.Lost)));
            Assert.Equal(original.Revision, opened.View.Revision);
            AssertSameItems(original.Tasks, opened.View.Tasks);
            AssertSameItems(original.Sessions, opened.View.Sessions);
            Assert.Equal("npm test passed\n", System.Text.Encoding.UTF8.GetString((await store.ReadSessionLogAsync("s1", Http.Ct))!));
            Assert.NotNull(await store.LoadReportAsync("r1", Http.Ct));
        }

        StatectlRun verified = await StatectlRun.RunAsync("verify", "--state-path", Restored);
        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    [Fact]
    public async Task Export_BesideARunningServerUnderLoad_HasEveryAcknowledgedTask_AndImports()
    {
        IReadOnlyDictionary<string, long> acknowledged;
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            await using WriteLoad load = WriteLoad.Start(server);
            await load.WaitForAsync(writes: 10, checkpoints: 2);
            acknowledged = load.Acknowledged();

            StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath);
            Assert.True(exported.ExitCode == 0, exported.ToString());
        }

        StatectlRun imported = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored);
        Assert.True(imported.ExitCode == 0, imported.ToString());
        StateDirectoryView restored = StateDirectoryReader.Read(Restored);
        Assert.Empty(restored.Problems);
        foreach ((string id, long revision) in acknowledged)
        {
            Assert.True(restored.View.Tasks.TryGetValue(id, out StoredItem? task) && task.Revision >= revision, $"task '{id}' (acknowledged at {revision}) is missing or older");
        }
    }

    /// <summary>A directory given as the archive read "does not exist", and the operator looked for a missing file.</summary>
    [Fact]
    public async Task Import_OrArchiveRestore_OfADirectory_SaysItIsADirectory()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string directory = _temp.Combine("not-an-archive");
        Directory.CreateDirectory(directory);

        StatectlRun import = await StatectlRun.RunAsync("import", directory, "--state-path", Restored);
        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", directory, "--state-path", StatePath);

        Assert.True(import.ExitCode == 1, import.ToString());
        Assert.Contains($"The archive '{directory}' is a directory", import.Error, StringComparison.Ordinal);
        Assert.True(restore.ExitCode == 1, restore.ToString());
        Assert.Contains($"The archive '{directory}' is a directory", restore.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    [Fact]
    public async Task Import_IntoANonEmptyDirectory_IsRefusedNamingIt_AndChangesNothing()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", StatePath, "--json");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"'{StatePath}' is not empty", run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task Import_KilledHalfway_IsRefusedByTheStoreAndVerify_ThenTheSameImportResumes_AndAnotherArchiveIsRefused()
    {
        // Enough files that the import runs for a while (each file is written and fsynced on its own).
        const int tasks = 1500;
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath, Durability = Durability.Relaxed }, cancellationToken: Http.Ct))
        {
            await writer.SaveStateAsync(new Model.PersistedState
            {
                Tasks = [.. Enumerable.Range(0, tasks).Select(i => new Model.AgentTask { Id = $"task_{i:D4}", Description = "task " + i, Status = "pending" })],
                Sessions = [new Model.SessionInfo { Id = "s1", Status = "active" }],
            }, Http.Ct);
            await writer.AppendSessionLogAsync("s1", "the last file of the export\n", Http.Ct);
        }

        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath);
        Assert.True(exported.ExitCode == 0, exported.ToString());

        // kill -9 once the import has begun writing task files: well before its last file.
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (string argument in (string[])[StatectlRun.StatectlDll, "import", ArchivePath, "--state-path", Restored])
        {
            info.ArgumentList.Add(argument);
        }

        using (Process import = Process.Start(info)!)
        {
            string tasksDirectory = Path.Combine(Restored, "tasks");
            while (!import.HasExited && !(Directory.Exists(tasksDirectory) && Directory.EnumerateFiles(tasksDirectory, "*.json").Skip(10).Any()))
            {
                await Task.Delay(5, Http.Ct);
            }

            Assert.False(import.HasExited, "the import finished before it could be killed halfway");
            import.Kill();
            await import.WaitForExitAsync(Http.Ct);
        }

        string marker = Path.Combine(Restored, "import-in-progress.json");
        Assert.True(File.Exists(marker));
        Assert.True(Directory.EnumerateFiles(Path.Combine(Restored, "tasks")).Count() < tasks, "the kill came after the last task file");

        // The store refuses the directory, naming the archive to import again; verify lists it; nothing changes.
        var before = DirectoryContents.Read(Restored);
        StateImportIncompleteException refused = await Assert.ThrowsAsync<StateImportIncompleteException>(async () =>
            await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = Restored }, cancellationToken: Http.Ct));
        Assert.Contains(ArchivePath, refused.Message, StringComparison.Ordinal);
        StatectlRun verified = await StatectlRun.RunAsync("verify", "--state-path", Restored, "--json");
        Assert.Equal(1, verified.ExitCode);
        Assert.Contains("did not finish", verified.Output, StringComparison.Ordinal);
        Assert.Contains("import-in-progress.json", verified.Output, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, Restored);

        // Another archive does not resume it.
        string other = _temp.Combine("other.tar.gz");
        await ServerWrittenState.WriteAsync(_temp.Combine("other-state"), tasks: 1);
        Assert.Equal(0, (await StatectlRun.RunAsync("export", other, "--state-path", _temp.Combine("other-state"))).ExitCode);
        StatectlRun wrong = await StatectlRun.RunAsync("import", other, "--state-path", Restored);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("unfinished import", wrong.Error, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, Restored);

        // The same archive finishes it.
        StatectlRun resumed = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored, "--json");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.False(File.Exists(marker));
        StateView original = StateDirectoryReader.Read(StatePath).View;
        await using (var store = new FileStateStore(new StatePersistenceOptions { StatePath = Restored }))
        {
            RecoveredState opened = await store.OpenAsync(Http.Ct);
            AssertSameItems(original.Tasks, opened.View.Tasks);
            Assert.Equal("the last file of the export\n", System.Text.Encoding.UTF8.GetString((await store.ReadSessionLogAsync("s1", Http.Ct))!));
        }
    }

    [Theory]
    [InlineData("../escaped.json")]
    [InlineData("tasks/../../escaped.json")]
    [InlineData("/tmp/escaped.json")]
    [InlineData("notes.txt")]
    public async Task Import_OfAnArchiveWithAPathOutsideTheLayout_IsRefusedNamingTheEntry_AndWritesNothing(string entryName)
    {
        await using (FileStream file = File.Create(ArchivePath))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            await tar.WriteEntryAsync(Entry("state.json", """{"version":"2.0.0","tasks":[]}"""), Http.Ct);
            await tar.WriteEntryAsync(Entry(entryName, "{}"), Http.Ct);
        }

        StatectlRun run = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"'{entryName}'", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
        Assert.False(File.Exists(_temp.Combine("escaped.json")));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("gzip of no tar")]
    [InlineData("not gzip")]
    public async Task Import_OfAnArchiveThatIsNotAReadableTarGz_IsRefusedNamingIt_AndWritesNothing(string kind)
    {
        string broken = _temp.Combine("broken.tar.gz");
        if (kind == "truncated")
        {
            await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
            {
                await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "in the archive", Status = "pending" }, Http.Ct);
            }

            Assert.Equal(0, (await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath)).ExitCode);
            await File.WriteAllBytesAsync(broken, TruncatedToHalf(await File.ReadAllBytesAsync(ArchivePath, Http.Ct)), Http.Ct);
        }
        else
        {
            byte[] content = "hi\n"u8.ToArray();
            await using FileStream file = File.Create(broken);
            if (kind == "gzip of no tar")
            {
                await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
                await gzip.WriteAsync(content, Http.Ct);
            }
            else
            {
                await file.WriteAsync(content, Http.Ct);
            }
        }

        StatectlRun run = await StatectlRun.RunAsync("import", broken, "--state-path", Restored);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The archive '{broken}' is not a readable .tar.gz", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    /// <summary>
    /// An export cut in its gzip trailer (the last 10 bytes gone: the 8 of the trailer and 2 of the deflate data) is
    /// refused naming it (<c>GzipTrailerTests</c> covers each cut and a changed trailer byte); before 2026-12-07 it was
    /// imported, exit 0, where <c>gzip -t</c> says "unexpected end of file".
    /// </summary>
    [Fact]
    public async Task Import_OfAnExportCutInItsGzipTrailer_IsRefusedNamingIt_AndWritesNothing()
    {
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "in the archive", Status = "pending" }, Http.Ct);
        }

        Assert.Equal(0, (await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath)).ExitCode);
        byte[] whole = await File.ReadAllBytesAsync(ArchivePath, Http.Ct);
        await File.WriteAllBytesAsync(ArchivePath, whole[..^10], Http.Ct);

        StatectlRun run = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The archive '{ArchivePath}' is refused: it ends before its gzip trailer", run.Error, StringComparison.Ordinal);
        Assert.Contains("it is truncated. Nothing was changed.", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    [Theory]
    [InlineData("state.json")]
    [InlineData("tasks/task_2.json")]
    [InlineData("sessions/s1.json")]
    [InlineData("reports/report_r1.json")]
    [InlineData("logs/session_s1.log")]
    public async Task Import_OfAnArchiveWithOneBitFlippedInAnEntry_IsRefusedNamingTheEntry_AndWritesNothing(string entryName)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        Assert.Equal(0, (await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath)).ExitCode);
        string damaged = _temp.Combine("damaged.tar.gz");
        await RewriteAsync(ArchivePath, damaged, (name, content) =>
        {
            if (name == entryName)
            {
                content[content.Length / 2] ^= 0x04;
            }

            return content;
        });

        StatectlRun run = await StatectlRun.RunAsync("import", damaged, "--state-path", Restored);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The archive '{damaged}' is refused: its entry '{entryName}' is damaged", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    [Fact]
    public async Task Import_OfAnArchiveWhoseTaskFileIsAnOlderCopy_IsRefused_AsItDiffersFromItsStateJson()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        string older = _temp.Combine("older.tar.gz");
        Assert.Equal(0, (await StatectlRun.RunAsync("export", older, "--state-path", StatePath)).ExitCode);
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "changed after the first export", Status = "completed" }, Http.Ct);
        }

        Assert.Equal(0, (await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath)).ExitCode);
        byte[] olderTask = (await ReadEntriesAsync(older))["tasks/task_1.json"];
        string spliced = _temp.Combine("spliced.tar.gz");
        await RewriteAsync(ArchivePath, spliced, (name, content) => name == "tasks/task_1.json" ? olderTask : content);

        StatectlRun run = await StatectlRun.RunAsync("import", spliced, "--state-path", Restored);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("its entry 'tasks/task_1.json' is damaged: it differs from 'task_1' in the archive's state.json", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    private static async Task<Dictionary<string, byte[]>> ReadEntriesAsync(string archive)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await RewriteAsync(archive, null, (name, content) =>
        {
            entries[name] = content;
            return content;
        });
        return entries;
    }

    /// <summary>Copies <paramref name="source"/>'s entries, in order, through <paramref name="change"/> into <paramref name="target"/> (none: read only).</summary>
    private static async Task RewriteAsync(string source, string? target, Func<string, byte[], byte[]> change)
    {
        await using FileStream input = File.OpenRead(source);
        await using var gunzip = new GZipStream(input, CompressionMode.Decompress);
        await using var reader = new TarReader(gunzip);
        await using Stream output = target is null ? Stream.Null : File.Create(target);
        await using var gzip = new GZipStream(output, CompressionLevel.Fastest);
        await using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        while (await reader.GetNextEntryAsync(cancellationToken: Http.Ct) is { } entry)
        {
            if (entry.EntryType == TarEntryType.Directory)
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, entry.Name), Http.Ct);
                continue;
            }

            using var content = new MemoryStream();
            await entry.DataStream!.CopyToAsync(content, Http.Ct);
            byte[] changed = change(entry.Name, content.ToArray());
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = new MemoryStream(changed) }, Http.Ct);
        }
    }

    [Fact]
    public async Task Export_IntoTheStateDirectory_IsRefusedNamingBoth_AndWritesNothing()
    {
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "stays", Status = "pending" }, Http.Ct);
        }

        var before = DirectoryContents.Read(StatePath);
        string inside = Path.Combine(StatePath, "tasks", "inside.tar.gz");

        StatectlRun run = await StatectlRun.RunAsync("export", inside, "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{inside}' is inside the state directory '{StatePath}'", run.Error, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task Export_ThroughASymbolicLinkToTheStateDirectory_IsRefused_AndWritesNothing()
    {
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "stays", Status = "pending" }, Http.Ct);
        }

        string link = _temp.Combine("backups-volume");
        Directory.CreateSymbolicLink(link, StatePath);
        var before = DirectoryContents.Read(StatePath);
        string viaLink = Path.Combine(link, "export.tar.gz");

        StatectlRun run = await StatectlRun.RunAsync("export", viaLink, "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{viaLink}' is inside the state directory '{StatePath}'", run.Error, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    private static byte[] TruncatedToHalf(byte[] bytes) => bytes[..(bytes.Length / 2)];

    private static PaxTarEntry Entry(string name, string content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) };

    private static void AssertSameItems(System.Collections.Immutable.ImmutableSortedDictionary<string, StoredItem> expected,
        System.Collections.Immutable.ImmutableSortedDictionary<string, StoredItem> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach ((string id, StoredItem item) in expected)
        {
            Assert.True(item.Json.AsSpan().SequenceEqual(actual[id].Json), $"'{id}' differs");
            Assert.Equal(item.Revision, actual[id].Revision);
        }
    }

    public void Dispose() => _temp.Dispose();
}
