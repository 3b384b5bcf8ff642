using StatePersistence.FileStore.Operations;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An archive run cut short before its delete commit leaves its tasks live and in its archive; when that archive is
/// damaged, the next run cannot take its word and archives the tasks anew. It did so without a word: the damaged
/// archive is now named with the tasks archived anew for it, once, beside what it keeps live.
/// </summary>
public sealed partial class InterruptedArchiveTests
{
    [Fact]
    public async Task A_damaged_archive_of_a_run_killed_before_its_delete_commit_is_named_with_the_tasks_archived_anew()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheArchiveIsDurableAsync(ct);
        DamageEntry(archive, "tasks/old2.json");
        byte[] damaged = await File.ReadAllBytesAsync(archive, ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        // Nothing taken on its word: both tasks are in a new archive...
        Assert.NotNull(result.Archive);
        Assert.Empty(result.EarlierArchives);
        Assert.Equal(["old1", "old2"], result.Tasks.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { archive, result.Archive! }.Order(StringComparer.Ordinal), Archives());
        Assert.Equal(damaged, await File.ReadAllBytesAsync(archive, ct));
        // ...and the damaged one is named, with why and the tasks archived anew for it.
        DamagedTaskArchive found = Assert.Single(result.DamagedArchives);
        Assert.Equal(archive, found.Archive);
        Assert.Contains("its entry 'tasks/old2.json'", found.Problem, StringComparison.Ordinal);
        Assert.Equal(["old1", "old2"], found.ArchivedAnew);
        Assert.Empty(found.KeptLive);
    }

    [Fact]
    public async Task A_damaged_archive_holding_both_live_tasks_and_a_gone_tasks_leftovers_is_named_once_with_both()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheArchiveIsDurableAsync(ct);
        DamageEntry(archive, "tasks/old2.json");

        await using StatePersistenceService service = await _fixture.OpenAsync();
        // old1 gone (as a run cut short after deleting it alone would leave it), its log and report still live.
        await service.DeleteTaskAsync("old1", ct);
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.Equal(["old2"], result.Tasks);
        DamagedTaskArchive found = Assert.Single(result.DamagedArchives);
        Assert.Equal(archive, found.Archive);
        Assert.Equal(["report r1", "the log of session s1"], found.KeptLive);
        Assert.Equal(["old2"], found.ArchivedAnew);
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
    }
}
