using StatePersistence.Errors;

namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// How far the journal has grown past the checkpoints, counted as the bytes of JSON each commit journaled. It wakes a
/// checkpoint once <see cref="Threshold"/> bytes came since the last attempt (<see cref="StatePersistenceOptions.CheckpointAfterBytes"/>),
/// and refuses saves once <see cref="StallFactor"/> thresholds are in no successful checkpoint: checkpoints failing
/// (a disk error, a heap too small for the state) or not keeping up. Without that the journal grew without bound while
/// every save still succeeded (5.5 GB in a few minutes, measured), and the next start, which replays it, needed memory
/// in proportion: a server that could write could then not start again. Refusing is what a write stall does in other
/// stores (RocksDB stops writes when its flushes fall behind): nothing acknowledged is at risk, and the refusal says why.
/// </summary>
internal sealed class JournalGrowth(StatePersistenceOptions options, string location)
{
    /// <summary>How many thresholds of changes may wait for a checkpoint before saves are refused.</summary>
    public const int StallFactor = 4;

    private readonly SemaphoreSlim _grown = new(0, 1);
    private long _committed;
    private long _attemptStart;
    private long _checkpointed;
    private long _snapshotBytes;
    private Exception? _lastFailure;

    /// <summary>Whether checkpoints by size (and so the stall) are on.</summary>
    public bool Enabled => options.CheckpointAfterBytes > 0;

    /// <summary>
    /// <see cref="StatePersistenceOptions.CheckpointAfterBytes"/>, or the last snapshot's size when larger, so a checkpoint
    /// never rewrites much more than was journaled since the last one.
    /// </summary>
    public long Threshold => Math.Max(options.CheckpointAfterBytes, Volatile.Read(ref _snapshotBytes));

    /// <summary>Bytes committed since the last checkpoint attempt began (or failed).</summary>
    public long SinceAttempt => Volatile.Read(ref _committed) - Volatile.Read(ref _attemptStart);

    /// <summary>Bytes committed since the last successful checkpoint began: what the next start would replay.</summary>
    public long Unfolded => Volatile.Read(ref _committed) - Volatile.Read(ref _checkpointed);

    /// <summary>Whether saves are refused until a checkpoint succeeds.</summary>
    public bool Stalled => Enabled && Unfolded >= StallFactor * Threshold;

    /// <summary>Completes when the journal grew by <see cref="Threshold"/>, or a refused save asks for a checkpoint.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _grown.WaitAsync(cancellationToken);

    /// <summary>Counts a commit's bytes, waking the checkpoint loop once they reach the threshold.</summary>
    public void Committed(long bytes)
    {
        Interlocked.Add(ref _committed, bytes);
        if (SinceAttempt >= Threshold)
        {
            Wake();
        }
    }

    /// <summary>A checkpoint began (while no commit runs): everything counted so far is its. Returns its mark.</summary>
    public long Began()
    {
        long mark = Volatile.Read(ref _committed);
        Volatile.Write(ref _attemptStart, mark);
        return mark;
    }

    public void Succeeded(long mark, long snapshotBytes)
    {
        Volatile.Write(ref _snapshotBytes, snapshotBytes);
        Volatile.Write(ref _checkpointed, mark);
        Volatile.Write(ref _lastFailure, null);
    }

    /// <summary>A checkpoint failed: a retry by size waits for as many bytes again, so it is not retried at every save.</summary>
    public void Failed(Exception error)
    {
        Volatile.Write(ref _lastFailure, error);
        Volatile.Write(ref _attemptStart, Volatile.Read(ref _committed));
    }

    /// <summary>The error a save gets while <see cref="Stalled"/> (the checkpoint loop is woken to try again), else null.</summary>
    public StateStorageException? Refusal()
    {
        if (!Stalled)
        {
            return null;
        }

        Wake();
        Exception? cause = Volatile.Read(ref _lastFailure);
        string why = cause is null ? "checkpoints are not keeping up with the writes" : $"the last checkpoint failed: {cause.Message.TrimEnd('.')}";
        return new StateStorageException(
            $"The save was refused and nothing of it was stored: {Unfolded} bytes of changes are in no checkpoint yet ({StallFactor} x {Threshold}, CheckpointAfterBytes or the last snapshot's size), and {why}. Saves are accepted again as soon as a checkpoint succeeds; the journal is kept from growing past this so that the next start can replay it.",
            location, cause, isTransient: true);
    }

    private void Wake()
    {
        if (_grown.CurrentCount == 0)
        {
            try
            {
                _grown.Release();
            }
            catch (SemaphoreFullException)
            {
                // Woken already: one checkpoint answers both.
            }
        }
    }
}
