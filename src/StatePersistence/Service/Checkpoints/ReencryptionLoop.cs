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
/// <see cref="FilesPerStep"/> logs, reports, backups and task archives (or PostgreSQL rows) per step, under the checkpoint lock
/// (never beside a checkpoint; commits go on meanwhile), and the file store's item files, <c>state.json</c> and the journal
/// by a forced checkpoint. A step that used its whole budget is followed at once by the next (the lock given back in
/// between), so a large store is not rewritten at one budget per interval.
/// </summary>
internal sealed class ReencryptionLoop(IReencryptingStore? reencrypting, StatePersistenceOptions options, TimeProvider time, CommitPipeline commits,
    CheckpointScheduler checkpoints, EventDispatcher events, StateInstruments instruments)
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
    private long _stepsCompleted;

    /// <summary>The store's <see cref="ILateSealingStore.LateSealed"/> at the last step.</summary>
    private long _lateSeen;

    /// <summary>The keys kept in memory that were already reported (logged and counted once each).</summary>
    private readonly HashSet<string> _keptReported = new(StringComparer.Ordinal);

    public Task Stopped => _loop ?? Task.CompletedTask;

    /// <summary>
    /// The steps that asked the store to re-encrypt and finished (their checkpoint and reports included), for tests to
    /// wait on a number of steps rather than on the time they take.
    /// </summary>
    public long StepsCompleted => Interlocked.Read(ref _stepsCompleted);

    public void Start(CancellationToken stopping)
    {
        if (reencrypting is not { } store)
        {
            return;
        }

        instruments.ReencryptionFigure = () => store.FilesRemaining;
        if (options.ReencryptionInterval <= TimeSpan.Zero)
        {
            return;
        }

        _loop = BackgroundLoop.Start(options.ReencryptionInterval, time, "reencryption", events, ct => UntilShortStepAsync(store, ct), stopping);
    }

    /// <summary>Steps while each uses its whole budget and leaves work: one tick's work, in small steps.</summary>
    private async Task UntilShortStepAsync(IReencryptingStore store, CancellationToken cancellationToken)
    {
        while (await OnceAsync(store, cancellationToken).ConfigureAwait(false) is { Rewritten: >= FilesPerStep, Remaining: > 0 })
        {
        }
    }

    /// <summary>
    /// Runs steps until nothing is left under another key (the crash tests drive it this way, with the timer off);
    /// returns the steps taken. A failed checkpoint is thrown as its own exception, as to any caller outside the loop.
    /// </summary>
    public Task<int> RunToEndAsync(CancellationToken cancellationToken) => ReportedSaveFailure.Unwrapped(StepToEndAsync(cancellationToken));

    private async Task<int> StepToEndAsync(CancellationToken cancellationToken)
    {
        if (reencrypting is not { } store)
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

    /// <summary>
    /// One step (with the checkpoint it asks for, whose failure, reported as a failed snapshot, is thrown as a
    /// <see cref="ReportedSaveFailure"/>); null when there was nothing to do.
    /// </summary>
    private async Task<ReencryptionStep?> OnceAsync(IReencryptingStore store, CancellationToken cancellationToken)
    {
        string? active = store.ActiveKeyId;
        IReadOnlyDictionary<string, EncryptionKeyState>? keys = store.KeyStates;
        ReportKeptKeys(store);
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
        if ((store as ILateSealingStore)?.LateSealed is { } late && late != _lateSeen)
        {
            // A write sealed before the key changed landed after (a task archive, a PostgreSQL commit that waited on
            // its locks): look again.
            _lateSeen = late;
            _done = false;
        }

        // Without a key ring there is nothing to do; with one but no active key (encryption being turned off) the
        // target is the clear: every sealed payload is rewritten in the clear.
        if ((active is null && keys is null) || (_done && active == _doneFor))
        {
            return null;
        }

        if (active != _doneFor)
        {
            _done = false;
        }

        // The gauge is for the key this step seals with, also when the step fails: before 2026-12-07 a failed first step
        // after a rotation left it tagged with the old key (ReencryptionRemainingAfterAFailedStepTests).
        instruments.ReencryptionKeyId = active ?? ClearTarget;
        ReencryptionStep step;
        await checkpoints.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            step = await store.ReencryptStepAsync(commits.Durable, FilesPerStep, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The gauge's own copy (a store that keeps no figure) follows the stores' rule: a failed step did not count
            // what is left, so the last count stays, and at least 1. Before 2026-12-07 it kept the last count, 0 after
            // a finished run, while the rotation's files were all under the old key
            // (ReencryptionRemainingBeforeTheFirstCountTests).
            instruments.ReencryptionRemaining = Math.Max(instruments.ReencryptionRemaining ?? 0, 1);
            throw;
        }
        finally
        {
            checkpoints.Lock.Release();
        }

        foreach ((string path, string problem) in step.Damaged)
        {
            events.ReencryptionFoundDamage(path, problem);
        }

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
            await checkpoints.CheckpointInPassAsync(force: true, cancellationToken).ConfigureAwait(false);
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

        Interlocked.Increment(ref _stepsCompleted);
        return step;
    }

    /// <summary>
    /// Keys the key file lost while payloads may be sealed with them, which its provider keeps in memory: each one an
    /// Error log entry and a count, once (the health check names them for as long as they are kept).
    /// </summary>
    private void ReportKeptKeys(IReencryptingStore store)
    {
        if ((store as IKeyFileUser)?.KeyFile is not { } file)
        {
            return;
        }

        foreach (string id in file.KeptKeys.Where(_keptReported.Add))
        {
            events.KeyKeptInMemory(id, file.Path);
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
