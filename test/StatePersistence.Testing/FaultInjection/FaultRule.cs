namespace StatePersistence.Testing.FaultInjection;

/// <summary>
/// One armed fault: a countdown over the matching calls, like SQLite's test_vfs.c. The Nth matching call fails; a
/// transient rule then disarms, a persistent one fails every later matching call too until it is removed.
/// Created by <see cref="FaultInjectingFileSystem.InjectFault"/>.
/// </summary>
internal sealed class FaultRule
{
    private readonly Func<string, bool>? _pathFilter;
    private int _remaining;

    internal FaultRule(FaultOperations operations, InjectedError error, int nthCall, bool persistent, Func<string, bool>? pathFilter)
    {
        Operations = operations;
        Error = error;
        NthCall = nthCall;
        Persistent = persistent;
        _pathFilter = pathFilter;
        _remaining = nthCall;
    }

    /// <summary>The calls this rule counts and fails.</summary>
    public FaultOperations Operations { get; }

    /// <summary>The error it raises.</summary>
    public InjectedError Error { get; }

    /// <summary>Which matching call (1 = the next one) fails first.</summary>
    public int NthCall { get; }

    /// <summary>Whether calls after the Nth keep failing.</summary>
    public bool Persistent { get; }

    /// <summary>How many calls this rule has failed.</summary>
    public int FaultsInjected { get; private set; }

    /// <summary>Whether the rule can still fail a call.</summary>
    public bool IsArmed => Persistent || FaultsInjected == 0;

    /// <summary>Counts a call and says whether to fail it. The caller holds the file system's lock.</summary>
    internal bool ShouldFail(FaultOperations operation, string path)
    {
        if ((Operations & operation) == 0 || !IsArmed || (_pathFilter is not null && !_pathFilter(path)))
        {
            return false;
        }

        if (_remaining > 1)
        {
            _remaining--;
            return false;
        }

        FaultsInjected++;
        return true;
    }
}
