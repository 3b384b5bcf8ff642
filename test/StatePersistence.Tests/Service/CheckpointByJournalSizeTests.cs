using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A checkpoint also comes when the journal has grown by <see cref="StatePersistenceOptions.CheckpointAfterBytes"/>,
/// not only on the autosave timer: under large, fast writes the journal (and the memory and time the next start needs
/// to replay it) otherwise grows without bound between two ticks. The fixture's clock never moves here, so the timer
/// never ticks: every checkpoint below is one by size.
/// </summary>
public sealed class CheckpointByJournalSizeTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static StatePersistence.Model.AgentTask Large(string id) => StateFixture.Task(id, description: new string('x', 10_000));

    [Theory]
    [InlineData(30)]
    [InlineData(0)]
    public async Task The_journal_growing_by_CheckpointAfterBytes_writes_a_checkpoint_before_the_timer(int autosaveSeconds)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = _fixture.Create(o =>
        {
            o.CheckpointAfterBytes = 64 * 1024;
            o.AutosaveInterval = TimeSpan.FromSeconds(autosaveSeconds);
        });
        var triggered = new TaskCompletionSource<AutosaveTriggeredEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var saved = new TaskCompletionSource<StateSavedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.AutosaveTriggered += (_, e) => triggered.TrySetResult(e);
        service.StateSaved += (_, e) =>
        {
            if (e.What == "snapshot")
            {
                saved.TrySetResult(e);
            }
        };
        await service.StartAsync(ct);
        await using (service)
        {
            for (int i = 0; i < 3; i++)
            {
                await service.SaveTaskAsync(Large($"t{i}"), ct);
            }

            // 30 KB journaled: under the threshold, so nothing was checkpointed.
            Assert.False(triggered.Task.IsCompleted);
            Assert.False(File.Exists(_fixture.File("state.json")));

            for (int i = 3; i < 8; i++)
            {
                await service.SaveTaskAsync(Large($"t{i}"), ct);
            }

            long revision = (await triggered.Task.WaitAsync(Patience, ct)).Revision;
            Assert.True(revision >= 7, $"triggered at revision {revision}, after 64 KB of a 10 KB-a-save journal");
            await saved.Task.WaitAsync(Patience, ct);
            Assert.True(File.Exists(_fixture.File("state.json")));
            Assert.True(File.Exists(_fixture.File("tasks", "t6.json")));
        }
    }

    [Fact]
    public async Task While_checkpoints_fail_saves_are_refused_once_four_thresholds_wait_and_accepted_again_after_one_succeeds()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var fileSystem = new FaultInjectingFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance);
        string tasks = _fixture.File("tasks") + Path.DirectorySeparatorChar;
        FaultRule fault = fileSystem.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true, pathFilter: p => p.StartsWith(tasks, StringComparison.Ordinal));
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.CheckpointAfterBytes = 16 * 1024, fileSystem);
        int failedCheckpoints = 0;
        service.StateSaveError += (_, e) =>
        {
            if (e.Operation == "snapshot")
            {
                Interlocked.Increment(ref failedCheckpoints);
            }
        };

        // Every checkpoint fails (no task file can be created), so the journal only grows: 64 KB of it is the limit.
        // The first 20 KB wake a checkpoint by size; its failure is awaited, so the refusal below names it (a refusal
        // while the first attempt still runs says checkpoints are not keeping up instead: also true, but not this case).
        await service.SaveTaskAsync(Large("t0"), ct);
        await service.SaveTaskAsync(Large("t1"), ct);
        for (int i = 0; i < 600 && Volatile.Read(ref failedCheckpoints) == 0; i++)
        {
            await Task.Delay(50, ct);
        }

        Assert.True(Volatile.Read(ref failedCheckpoints) >= 1, "the checkpoint by size did not run and fail within 30 s");
        int saved = 2;
        StateStorageException? refused = null;
        for (; saved < 20 && refused is null; saved++)
        {
            try
            {
                await service.SaveTaskAsync(Large($"t{saved}"), ct);
            }
            catch (StateStorageException ex)
            {
                refused = ex;
            }
        }

        Assert.NotNull(refused);
        Assert.True(refused.IsTransient);
        Assert.Contains("in no checkpoint yet (4 x 16384", refused.Message, StringComparison.Ordinal);
        Assert.Contains("the last checkpoint failed", refused.Message, StringComparison.Ordinal);
        Assert.True(saved - 1 >= 6, $"refused after {saved - 1} saves of 10 KB, before 64 KB were journaled");
        Assert.True(failedCheckpoints >= 1);
        string refusedId = $"t{saved - 1}";
        Assert.Null(await service.LoadTaskAsync(refusedId, ct));

        // The disk is back: the next retry (a second later, by the clock the service runs on) folds the journal in.
        Assert.True(fileSystem.RemoveFault(fault));
        await _fixture.TickUntilAsync(() => File.Exists(_fixture.File("tasks", "t0.json")), "a checkpoint after the fault went");
        await _fixture.TickUntilAsync(() => TrySave(service, refusedId), "a save accepted again");
        Assert.NotNull(await service.LoadTaskAsync(refusedId, ct));
        Assert.Equal(saved, (await service.LoadTasksAsync(ct)).Count);
    }

    private static bool TrySave(StatePersistenceService service, string id)
    {
        try
        {
            service.SaveTaskAsync(Large(id), TestContext.Current.CancellationToken).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (StateStorageException)
        {
            return false;
        }
    }

    [Fact]
    public void A_negative_CheckpointAfterBytes_is_refused_naming_it()
    {
        var options = new StatePersistenceOptions { CheckpointAfterBytes = -1 };
        Assert.Contains(options.Validate(), p => p.StartsWith("CheckpointAfterBytes must not be negative (was -1)", StringComparison.Ordinal));
    }
}
