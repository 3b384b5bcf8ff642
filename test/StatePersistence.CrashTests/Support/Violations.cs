namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The violations one test found. Each is counted in the ledger as it is found (so the summary has them even when
/// the test goes on); <see cref="ThrowIfAny"/> then fails the test with the first of them, each saying the workload,
/// the crash point, the model, the state and what was wrong.
/// </summary>
internal sealed class Violations(ReliabilityLedger ledger, string? workload)
{
    private const int Shown = 8;
    private readonly Lock _gate = new();
    private readonly List<string> _messages = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _messages.Count;
            }
        }
    }

    public void Add(string message)
    {
        ledger.RecordViolation(workload, message);
        lock (_gate)
        {
            _messages.Add(message);
        }
    }

    public void ThrowIfAny()
    {
        lock (_gate)
        {
            if (_messages.Count > 0)
            {
                Assert.Fail($"{_messages.Count} violation(s){(workload is null ? "" : " in " + workload)} with RELIABILITY_SEED={ReliabilityLedger.Seed}; "
                    + $"the first {Math.Min(Shown, _messages.Count)}:\n\n"
                    + string.Join("\n\n", _messages.Take(Shown)));
            }
        }
    }
}
