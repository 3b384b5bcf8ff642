namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// A case that reads counters of its own around each of its rounds (a database server's WAL counters), which only a
/// round's window attributes to it: the harness calls <see cref="RoundStarting"/> just before the round's first
/// operation and <see cref="RoundEnded"/> just after its last, outside the timed part, while no other case runs.
/// </summary>
public interface IRoundObserver
{
    /// <summary>The round is about to start.</summary>
    void RoundStarting();

    /// <summary>The round has ended (a round that throws fails its case, and this is not called).</summary>
    void RoundEnded();
}
