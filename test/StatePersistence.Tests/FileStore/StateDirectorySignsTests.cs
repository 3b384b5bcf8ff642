using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <see cref="StateDirectorySigns"/>, the one list of what makes a directory a state directory, which the library's
/// <c>keys list</c> and health check and every statectl command that opens a directory use: each entry a running store
/// leaves at the top of its directory is a sign on its own (a new folder in the layout that is not would let statectl
/// refuse a real directory), and neither an empty folder nor the lock files alone are.
/// </summary>
public sealed class StateDirectorySignsTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly TempDirectory _probe = new();

    public void Dispose()
    {
        _probe.Dispose();
        _fixture.Dispose();
    }

    [Fact]
    public async Task EachEntryAStoreLeaves_ExceptItsLock_IsASignOnItsOwn()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.SaveSessionAsync(new SessionInfo { Id = "s1" }, ct);
            await service.AppendSessionLogAsync("s1", "line", ct);
            await service.SaveReportAsync("r1", System.Text.Json.JsonDocument.Parse("{}").RootElement, ct);
            await service.SaveSnapshotAsync(ct);
            await service.SaveSnapshotAsync(ct);
        }

        string[] entries = Directory.EnumerateFileSystemEntries(_fixture.StatePath)
            .Select(Path.GetFileName).OfType<string>()
            .Where(name => !name.StartsWith(".lock", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Contains("state.json", entries);
        Assert.Contains("journal", entries);

        foreach (string entry in entries)
        {
            string alone = _probe.Combine(entry.Replace('.', '_'));
            Directory.CreateDirectory(alone);
            string source = Path.Combine(_fixture.StatePath, entry);
            string copy = Path.Combine(alone, entry);
            if (Directory.Exists(source))
            {
                Directory.CreateDirectory(copy);
            }
            else
            {
                File.Copy(source, copy);
            }

            Assert.True(StateDirectorySigns.Any(alone), $"a directory holding only '{entry}' is not taken for a state directory");
        }
    }

    [Theory]
    [InlineData("state.backup.20240101T000000-0000000Z.json")]
    [InlineData("import-in-progress.json")]
    [InlineData("archive/")]
    [InlineData("pre-migration/")]
    [InlineData("tasks/")]
    [InlineData("sessions/")]
    [InlineData("logs/")]
    [InlineData("reports/")]
    public void AnEntryARunMayNotLeave_IsASignToo(string entry)
    {
        string path = _probe.Combine(entry.TrimEnd('/'));
        if (entry.EndsWith('/'))
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            File.WriteAllText(path, "{}");
        }

        Assert.True(StateDirectorySigns.Any(_probe.Path));
    }

    [Fact]
    public void AnEmptyFolder_TheLockFilesAlone_OrForeignFiles_AreNoSign()
    {
        Assert.False(StateDirectorySigns.Any(_probe.Path));

        File.WriteAllText(_probe.Combine(".lock"), "");
        File.WriteAllText(_probe.Combine(".lock.owner"), "pid 1");
        File.WriteAllText(_probe.Combine("notes.txt"), "an operator's file");
        Directory.CreateDirectory(_probe.Combine("photos"));

        Assert.False(StateDirectorySigns.Any(_probe.Path));
    }

    [Fact]
    public void AnEmptyPath_IsRefusedByName() =>
        Assert.Equal("directory", Assert.Throws<ArgumentException>(() => StateDirectorySigns.Any("")).ParamName);
}
