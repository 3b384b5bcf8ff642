using System.Diagnostics;
using StatePersistence.Diagnostics;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Diagnostics;

public sealed class ActivityTests : IDisposable
{
    private const string TestSourceName = "StatePersistence.Tests.ActivityTests";
    private static readonly ActivitySource TestSource = new(TestSourceName);
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Save_Checkpoint_AndRecovery_ProduceTheirActivities_InTheCallersTrace()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name is StateActivities.SourceName or TestSourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // The listener hears every test running in parallel: only this test's trace is looked at.
        ActivityTraceId trace;
        using (Activity root = TestSource.StartActivity("test")!)
        {
            trace = root.TraceId;
            await using StatePersistenceService service = await _fixture.OpenAsync();
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.SaveSnapshotAsync(ct);
        }

        List<Activity> mine;
        lock (stopped)
        {
            mine = [.. stopped.Where(a => a.TraceId == trace && a.Source.Name == StateActivities.SourceName)];
        }

        Activity save = Assert.Single(mine, a => a.OperationName == StateActivities.Save);
        Assert.Equal("task", save.GetTagItem("statepersistence.kind"));
        Activity wait = Assert.Single(mine, a => a.OperationName == StateActivities.CommitWait);
        Assert.Equal(save.SpanId, wait.ParentSpanId);
        // One writer leads its own group: the append and its fsync belong to this save's trace.
        Activity append = Assert.Single(mine, a => a.OperationName == StateActivities.JournalAppend);
        Assert.Equal(1, append.GetTagItem("statepersistence.group_size"));
        Activity fsync = Assert.Single(mine, a => a.OperationName == StateActivities.JournalFsync && a.ParentSpanId == append.SpanId);
        Assert.True(fsync.Duration <= append.Duration);
        Assert.Contains(mine, a => a.OperationName == StateActivities.Checkpoint);
        Assert.Single(mine, a => a.OperationName == StateActivities.Recovery);
        Assert.All(mine, a => Assert.NotEqual(ActivityStatusCode.Error, a.Status));
    }
}
