namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// One gate (a semaphore of one) per key, kept only while someone holds it or waits for it. A dictionary that kept a
/// gate for every key ever asked about would grow with every session id a client names, including ids that have no
/// log (a read of a missing log takes the gate too), for as long as the process runs.
/// </summary>
internal sealed class KeyedGates
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    /// <summary>How many gates exist (held or waited for); zero when nothing is in progress.</summary>
    public int Count
    {
        get
        {
            lock (_gates)
            {
                return _gates.Count;
            }
        }
    }

    /// <summary>
    /// The gate of <paramref name="key"/>, counted as in use until <see cref="Lease.Release"/> (or until its wait
    /// fails): wait on it, then release it in a <c>finally</c>.
    /// </summary>
    public Lease Take(string key)
    {
        lock (_gates)
        {
            if (!_gates.TryGetValue(key, out Gate? gate))
            {
                gate = new Gate();
                _gates.Add(key, gate);
            }

            gate.Users++;
            return new Lease(this, key, gate);
        }
    }

    private void Return(string key, Gate gate)
    {
        lock (_gates)
        {
            // The last user gone: the next Take makes a new gate, which nobody else can be holding.
            if (--gate.Users == 0)
            {
                _gates.Remove(key);
            }
        }
    }

    internal sealed class Gate
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int Users;
    }

    /// <summary>One use of a key's gate: exactly one wait, then exactly one release.</summary>
    public readonly struct Lease
    {
        private readonly KeyedGates _owner;
        private readonly string _key;
        private readonly Gate _gate;

        internal Lease(KeyedGates owner, string key, Gate gate)
        {
            _owner = owner;
            _key = key;
            _gate = gate;
        }

        public async ValueTask WaitAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _gate.Semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Cancelled while waiting: the gate was never held, so only the use is given back.
                _owner.Return(_key, _gate);
                throw;
            }
        }

        public void Wait() => _gate.Semaphore.Wait();

        public void Release()
        {
            _gate.Semaphore.Release();
            _owner.Return(_key, _gate);
        }
    }
}
