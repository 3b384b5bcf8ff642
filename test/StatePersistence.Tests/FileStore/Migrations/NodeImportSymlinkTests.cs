using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// Symbolic links in a Node directory, real ones on the real disk. The backup copies and the rollback restores files,
/// not links: a broken link failed the migration half-way and left <c>pre-migration/</c> behind, and one that worked
/// came back from a rollback as a regular file (the file it named, outside the directory, tightened to 0600 for good).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeImportSymlinkTests : IDisposable
{
    private const string OutsideTask = """{"id": "task_8", "description": "kept elsewhere", "status": "pending"}""";

    private readonly StateFixture _fixture = new();
    private readonly TempDirectory _outside = new();

    public NodeImportSymlinkTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Symbolic links and Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose()
    {
        _fixture.Dispose();
        _outside.Dispose();
    }

    [Theory]
    [InlineData("tasks/task_7.json", false)]
    [InlineData("notes", false)]
    [InlineData("tasks/task_8.json", true)]
    [InlineData("logs/session_sess_a_1704103300000.log", true)]
    public async Task ALinkToAFile_OrABrokenOne_IsRefusedUpFront_NamingIt_NothingChanged(string link, bool works)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string target = _outside.Combine("target");
        if (works)
        {
            File.WriteAllText(target, OutsideTask);
            File.SetUnixFileMode(target, NodeStateDirectory.FileMode);
        }

        File.CreateSymbolicLink(_fixture.File(link), target);
        SortedDictionary<string, string> before = Entries(_fixture.StatePath);
        SortedDictionary<string, string> outsideBefore = Entries(_outside.Path);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () => await _fixture.OpenAsync());
        StateStorageException refusedToo = await Assert.ThrowsAsync<StateStorageException>(() => StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: ct));

        string expected = $"holds 1 symbolic link(s): '{link}' -> '{target}'{(works ? "" : " (broken)")}. ";
        Assert.True(refused.Message.Contains(expected, StringComparison.Ordinal), refused.Message);
        Assert.EndsWith("Nothing was changed.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(refused.Message, refusedToo.Message);
        Assert.Equal(before, Entries(_fixture.StatePath));
        Assert.Equal(outsideBefore, Entries(_outside.Path));
        Assert.Equal("1.0.0", StateMigrations.GetStatus(_fixture.Options()).DirectoryVersion);
    }

    /// <summary>A link to a directory is followed like the directory it names: migrated, and rolled back, in place, the link kept.</summary>
    [Fact]
    public async Task ALinkToADirectory_IsMigratedAndRolledBackThroughIt_AndStaysALink()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string logs = _outside.Combine("logs");
        Directory.Move(_fixture.File("logs"), logs);
        Directory.CreateSymbolicLink(_fixture.File("logs"), logs);
        SortedDictionary<string, string> logsBefore = DirectorySnapshot.Contents(logs);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Assert.Equal(NodeStateDirectory.SessionALog, await service.ReadSessionLogAsync("sess_a", ct));
        }

        Assert.True(File.Exists(Path.Combine(logs, "session_sess_a.log")));
        await StateMigrations.RollbackAsync(_fixture.Options(), cancellationToken: ct);

        Assert.Equal(logs, new DirectoryInfo(_fixture.File("logs")).LinkTarget);
        Assert.Equal(logsBefore, DirectorySnapshot.Contents(logs));
    }

    /// <summary>Every entry under <paramref name="root"/>: a link as its target (never followed), a file as its bytes, time and mode.</summary>
    private static SortedDictionary<string, string> Entries(string root)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root))
        {
            string relative = Path.GetRelativePath(root, path);
            entries[relative] = new FileInfo(path).LinkTarget is { } target
                ? "link -> " + target
                : Directory.Exists(path)
                    ? $"directory {File.GetUnixFileMode(path)}"
                    : $"{Convert.ToHexString(File.ReadAllBytes(path))} {File.GetLastWriteTimeUtc(path):O} {File.GetUnixFileMode(path)}";
        }

        return entries;
    }
}
