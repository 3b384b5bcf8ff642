using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// The background re-encryption (issue 15 item 2) of a store that supports it: after a key rotation, or when
/// encryption is turned on over a clear-text directory, every stored payload still under an older key (or in the
/// clear) is rewritten under the active key. Once at start-up (so an interrupted run continues where it stopped),
/// then every <see cref="StatePersistenceOptions.ReencryptionInterval"/> while there is work or the active key changed. Small steps: at most
/// <see cref="FilesPerStep"/> logs, reports, backups and task archives per step, under the checkpoint lock (never beside a
/// checkpoint; commits go on meanwhile), and item files, <c>state.json</c> and the journal by a forced checkpoint.
/// </summary>
internal sealed class ReencryptionLoop(StatePersistenceOptions options, TimeProvider time, CommitPipeline commits, CheckpointScheduler checkpoints,
    EventDispatcher events, StateInstruments instruments)
{
    /// <summary>Files rewritten per step before the lock is given back.</summary>
    public const int FilesPerStep = 32;

    /// <summary>The <c>key_id</c> tag of the re-encryption metrics while payloads are rewritten in the clear (no key is active).</summary>
    public const string ClearTarget = "clear";

    private Task? _loop;

    /// <summary>The active key the last finished run was for: nothing to scan again until the key changes.</summary>
    private string? _doneFor;
    private bool _done;
    private bool _started;
    private string? _seen;

    /// <summary>The key ring's ids and states at the last step, to audit what changed since.</summary>
    private IReadOnlyDictionary<string, EncryptionKeyState>? _keys;
    private bool _running;
    private long _rewritten;

    public Task Stopped => _loop ?? Task.CompletedTask;

    public void Start(CancellationToken stopping)
    {
        if (checkpoints.Store is not IReencryptingStore store || options.ReencryptionInterval <= TimeSpan.Zero)
        {
            return;
        }

        _loop = BackgroundLoop.Start(options.ReencryptionInterval, time, "reencryption", events, ct => OnceAsync(store, ct), stopping);
    }

    /// <summary>
    /// Runs steps until nothing is left under another key (the crash tests drive it this way, with the timer off);
    /// returns the steps taken.
    /// </summary>
    public async Task<int> RunToEndAsync(CancellationToken cancellationToken)
    {
        if (checkpoints.Store is not IReencryptingStore store)
        {
            return 0;
        }

        int steps = 0;
        do
        {
            await OnceAsync(store, cancellationToken).ConfigureAwait(false);
            steps++;
        }
        while (!_done && (store.ActiveKeyId is not null || store.KeyStates is not null));
        return steps;
    }

    private async Task OnceAsync(IReencryptingStore store, CancellationToken cancellationToken)
    {
        string? active = store.ActiveKeyId;
        IReadOnlyDictionary<string, EncryptionKeyState>? keys = store.KeyStates;
        if (_started && _keys is not null && keys is not null)
        {
            AuditRingChanges(_keys, keys);
        }

        _keys = keys;
        if (_started && active is not null && active != _seen)
        {
            events.KeyActivated(active);
        }

        _started = true;
        _seen = active;
        // Without a key ring there is nothing to do; with one but no active key (encryption being turned off) the
        // target is the clear: every sealed payload is rewritten in the clear.
        if ((active is null && keys is null) || (_done && active == _doneFor))
        {
            return;
        }

        if (active != _doneFor)
        {
            _done = false;
        }

        ReencryptionStep step;
        await checkpoints.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            step = await store.ReencryptStepAsync(commits.Durable, FilesPerStep, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            checkpoints.Lock.Release();
        }

        foreach ((string path, string problem) in step.Damaged)
        {
            events.ReencryptionFoundDamage(path, problem);
        }

        instruments.ReencryptionKeyId = active ?? ClearTarget;
        instruments.ReencryptionRemaining = step.Remaining;
        if (!_running && step.Remaining + step.Rewritten > 0)
        {
            _running = true;
            _rewritten = 0;
            events.ReencryptionStarted(active, step.Remaining + step.Rewritten);
        }

        Record(step.Rewritten, active ?? ClearTarget);
        if (step.ForCheckpoint > 0)
        {
            await checkpoints.CheckpointAsync(force: true, cancellationToken).ConfigureAwait(false);
            Record(step.ForCheckpoint, active ?? ClearTarget);
            instruments.ReencryptionRemaining = step.Remaining - step.ForCheckpoint;
        }

        if (step.Remaining == 0)
        {
            if (_running)
            {
                events.ReencryptionFinished(active, _rewritten);
            }

            _running = false;
            _done = true;
            _doneFor = active;
        }
    }

    /// <summary>Keys added, retired, revoked or removed since the last step (an activation is audited by its own event).</summary>
    private void AuditRingChanges(IReadOnlyDictionary<string, EncryptionKeyState> before, IReadOnlyDictionary<string, EncryptionKeyState> now)
    {
        foreach ((string id, EncryptionKeyState state) in now)
        {
            if (!before.TryGetValue(id, out EncryptionKeyState was))
            {
                events.KeyAdded(id, state);
            }
            else if (was != state && state != EncryptionKeyState.Active)
            {
                events.KeyStateChanged(id, state);
            }
        }

        foreach (string id in before.Keys.Where(id => !now.ContainsKey(id)))
        {
            events.KeyRemoved(id);
        }
    }

    private void Record(int files, string keyId)
    {
        if (files > 0)
        {
            _rewritten += files;
            instruments.ReencryptedFiles.Add(files, new KeyValuePair<string, object?>("key_id", keyId));
        }
    }
}
