using StatePersistence.CrashTests.Support;
using StatePersistence.Diagnostics;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>Helpers for workloads where a snapshot or the autosave runs alongside saves, in a fixed interleaving.</summary>
internal sealed partial class WorkloadRun
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>Runs <paramref name="work"/> on its own task as <paramref name="actor"/>, for gates to tell it apart.</summary>
    public static Task Background(string actor, Func<Task> work) => Task.Run(async () =>
    {
        ProcessFileSystem.Actor = actor;
        await work();
    });

    /// <summary>Waits until a call is held at <paramref name="gate"/>, or <paramref name="work"/> ended (a crash) first.</summary>
    public async Task UntilHeld(Gate gate, Task work)
    {
        await Task.WhenAny(gate.Reached, work);
        if (!gate.Reached.IsCompleted)
        {
            await work;
            StopIfCrashed();
            throw new InvalidOperationException("The workload ended without reaching its gate; the interleaving it tests did not happen.");
        }
    }

    /// <summary>
    /// Lets the autosave timer fire (the fake clock moves one interval) and returns (once the timer fired) the autosave's snapshot, which
    /// completes when the snapshot was written or failed. Start it only when something changed since the last one.
    /// </summary>
    public async Task<Task> StartAutosave(Action? whenTriggered = null)
    {
        await Time.WhenTimersCreated(TimersBeforeProcess + 1).WaitAsync(Deadline);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StatePersistenceService service = Service;
        EventHandler<AutosaveTriggeredEventArgs> triggered = (_, _) => whenTriggered?.Invoke();
        EventHandler<StateSavedEventArgs> saved = (_, e) =>
        {
            if (e.What == "snapshot")
            {
                done.TrySetResult();
            }
        };
        EventHandler<StateSaveErrorEventArgs> failed = (_, e) =>
        {
            if (e.Operation == "snapshot")
            {
                done.TrySetResult();
            }
        };
        service.AutosaveTriggered += triggered;
        service.StateSaved += saved;
        service.StateSaveError += failed;
        Model.Note("autosave");
        Time.Advance(service.Options.AutosaveInterval);
        return done.Task.WaitAsync(Deadline).ContinueWith(t =>
        {
            service.AutosaveTriggered -= triggered;
            service.StateSaved -= saved;
            service.StateSaveError -= failed;
            t.GetAwaiter().GetResult();
        }, TaskScheduler.Default);
    }

    /// <summary>Lets the autosave write a snapshot with nothing else running, and waits for it.</summary>
    public async Task Autosave()
    {
        await await StartAutosave();
        StopIfCrashed();
    }
}
