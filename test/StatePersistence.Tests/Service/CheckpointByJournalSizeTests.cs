using StatePersistence.Diagnostics;
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
    public void A_negative_CheckpointAfterBytes_is_refused_naming_it()
    {
        var options = new StatePersistenceOptions { CheckpointAfterBytes = -1 };
        Assert.Contains(options.Validate(), p => p.StartsWith("CheckpointAfterBytes must not be negative (was -1)", StringComparison.Ordinal));
    }
}
