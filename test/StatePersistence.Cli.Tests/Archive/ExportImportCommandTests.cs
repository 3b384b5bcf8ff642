using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Commit;
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
