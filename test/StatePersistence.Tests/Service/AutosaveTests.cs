using StatePersistence.Diagnostics;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class AutosaveTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Autosave_WritesSnapshotAfterIntervalWhenSomethingChanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = _fixture.Create();
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
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            Assert.False(File.Exists(_fixture.File("state.json")));

            _fixture.Time.Advance(TimeSpan.FromSeconds(30));

            Assert.Equal(service.Revision, (await triggered.Task.WaitAsync(Patience, ct)).Revision);
            await saved.Task.WaitAsync(Patience, ct);
            Assert.True(File.Exists(_fixture.File("state.json")));
            Assert.True(File.Exists(_fixture.File("tasks", "task_1.json")));
        }
    }

    [Fact]
    public async Task Autosave_DoesNothingWhenNothingChanged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = _fixture.Create();
        int triggered = 0;
        service.AutosaveTriggered += (_, _) => Interlocked.Increment(ref triggered);
        await service.StartAsync(ct);
        await using (service)
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await service.SaveSnapshotAsync(ct);
            for (int i = 0; i < 3; i++)
            {
                _fixture.Time.Advance(TimeSpan.FromSeconds(30));
            }

            // A save after the ticks proves the loop ran them: the next tick must pick this one up.
            var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            service.AutosaveTriggered += (_, _) => next.TrySetResult();
            await service.SaveTaskAsync(StateFixture.Task("task_2"), ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(30));
            await next.Task.WaitAsync(Patience, ct);
            Assert.Equal(1, Volatile.Read(ref triggered));
        }
    }
}
