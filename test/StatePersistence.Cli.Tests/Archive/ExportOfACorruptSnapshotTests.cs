using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// <c>statectl export</c> (and the other read-only commands) of a directory whose <c>state.json</c> is NUL-filled:
/// the state is rebuilt from the item files and the journal as start-up recovery does, at the revision recovery
/// arrives at, and the archive carries that revision (an import then equals it), never 0.
/// </summary>
public sealed class ExportOfACorruptSnapshotTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string ArchivePath => _temp.Combine("backup.tar.gz");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Export_CarriesTheRevisionRecoveryArrivesAt_AndSoDoTasksListAndHealth()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        string state = Path.Combine(StatePath, "state.json");
        File.WriteAllBytes(state, new byte[new FileInfo(state).Length]);
        long recovered = await RecoveredRevisionOfACopyAsync();

        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath, "--json");
        StatectlRun listed = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        StatectlRun health = await StatectlRun.RunAsync("health", "--state-path", StatePath, "--json");
        StatectlRun imported = await StatectlRun.RunAsync("import", ArchivePath, "--state-path", _temp.Combine("restored"), "--json");

        Assert.True(recovered > 0, $"recovered revision {recovered}");
        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Equal(recovered, exported.Json().GetProperty("revision").GetInt64());
        Assert.Contains(exported.Json().GetProperty("problems").EnumerateArray(), p => p.GetProperty("path").GetString() == state);
        Assert.Equal(recovered, RevisionOfTheArchivedSnapshot());
        Assert.Equal(recovered, listed.Json().GetProperty("revision").GetInt64());
        Assert.Equal(recovered, health.Json().GetProperty("revision").GetInt64());
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Equal(recovered, imported.Json().GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task Export_WithoutJson_WarnsThatTheStateWasRebuilt_NamingStateJson()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        string state = Path.Combine(StatePath, "state.json");
        File.WriteAllBytes(state, new byte[new FileInfo(state).Length]);

        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath);

        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Contains("statectl: warning: " + state, exported.Error, StringComparison.Ordinal);
    }

    /// <summary>A directory where a report file belongs: the export left the report out without a word.</summary>
    [Fact]
    public async Task Export_WarnsOfADirectoryWhereAReportBelongs_NamingIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string report = Path.Combine(StatePath, "reports", "report_t10.json");
        Directory.CreateDirectory(report);

        StatectlRun exported = await StatectlRun.RunAsync("export", ArchivePath, "--state-path", StatePath);

        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Contains($"statectl: warning: {report}: '{report}' is a directory, not a file", exported.Error, StringComparison.Ordinal);
        Assert.Contains("it is not in the export", exported.Error, StringComparison.Ordinal);
    }

    /// <summary>What the store resumes at when it opens the directory: opened on a copy, so the original stays as it is for the commands.</summary>
    private async Task<long> RecoveredRevisionOfACopyAsync()
    {
        string copy = _temp.Combine("copy");
        foreach (string file in Directory.GetFiles(StatePath, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(StatePath, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        await using var store = new FileStateStore(new StatePersistenceOptions { StatePath = copy });
        RecoveredState opened = await store.OpenAsync(Http.Ct);
        Assert.True(opened.Report.RebuiltFromItemFiles, "recovery must have rebuilt from the item files");
        return opened.View.Revision;
    }

    private long RevisionOfTheArchivedSnapshot()
    {
        using FileStream file = File.OpenRead(ArchivePath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name == "state.json")
            {
                using JsonDocument snapshot = JsonDocument.Parse(entry.DataStream!);
                return snapshot.RootElement.GetProperty("revision").GetInt64();
            }
        }

        throw new InvalidOperationException($"'{ArchivePath}' holds no state.json");
    }
}
