using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Postgres.Reencryption;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres;

/// <summary>The background re-encryption of the store's rows, and how much each key still protects.</summary>
public sealed partial class PostgresStateStore : IReencryptingStore, ILateSealingStore
{
    /// <summary>Writes that ended with a key active other than the one active when their payloads were sealed.</summary>
    private long _lateSealed;

    /// <summary>
    /// Rows not under the active key at the last re-encryption step (health: <c>reencryption_files_remaining</c>);
    /// <see cref="NotCounted"/> until a step has counted them (see <see cref="ReencryptionFigure"/>).
    /// </summary>
    private long _reencryptionRemaining;

    private const long NotCounted = -1;

    /// <summary>
    /// The figure at the open: 0 under the identity codec, which seals nothing (and could open nothing sealed), so 0
    /// needs no count; not counted under any other codec.
    /// </summary>
    private static long StartingReencryptionFigure(IPayloadCodec? codec) => codec is null or IdentityCodec ? 0 : NotCounted;

    long? IReencryptingStore.FilesRemaining => ReencryptionFigure;

    /// <summary>
    /// The rows not under the active key as a step counted them; null until one has (the health leaves the figure out,
    /// the gauge shows nothing), since 0 is the operator's sign that an old key protects nothing. Read without asking
    /// the codec: a health check must not depend on the key file reading. Before 2026-12-07 the figure was 0 from the
    /// open until the first step had counted, and for good with the re-encryption off, with every row under the old
    /// key after a rotation (<c>RemainingBeforeTheFirstCountTests</c>).
    /// </summary>
    private long? ReencryptionFigure => Interlocked.Read(ref _reencryptionRemaining) is >= 0 and var counted ? counted : null;

    /// <inheritdoc />
    long ILateSealingStore.LateSealed => Interlocked.Read(ref _lateSealed);

    /// <inheritdoc />
    public string? ActiveKeyId => _payloads.ActiveKeyId;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, EncryptionKeyState>? KeyStates => _payloads.KeyStates();

    /// <inheritdoc />
    /// <remarks>
    /// Rewrites up to <paramref name="maxFiles"/> rows (items, the extras row, session log rows, reports, then the
    /// change log's rows, then the task archives, each resealed whole) whose payload is not under the active key, found by the <c>*_key_id</c> indexes; with a key
    /// ring and no key active, every sealed row is written in the clear (an item back into <c>body jsonb</c>, listed
    /// again). Each row is updated only while it is still exactly what was read (revision and bytes), with no new
    /// revision and no change-feed entry, so a concurrent write from any instance is never lost or reordered, and a
    /// stop at any point leaves every row whole under its old key or the new one. <see cref="ReencryptionStep.Remaining"/>
    /// is counted by a query after the step, every table included. <paramref name="current"/> is not needed: the rows
    /// are the state.
    /// </remarks>
    public async ValueTask<ReencryptionStep> ReencryptStepAsync(StateView current, int maxFiles, CancellationToken cancellationToken)
    {
        RequireOpen();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFiles);
        string? active = _payloads.ActiveKeyId;
        if (active is null && !_payloads.HasKeyRing)
        {
            // The identity codec: nothing can be sealed, and nothing sealed could be opened.
            Interlocked.Exchange(ref _reencryptionRemaining, 0);
            return new ReencryptionStep(null, 0, 0, 0);
        }

        int rewritten, remaining;
        ArchiveResealing archives;
        try
        {
            (rewritten, remaining) = await Guarded("re-encrypt rows", async () =>
                await _reencryption.StepAsync(active, maxFiles, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            // The task archives with what the rows left of the budget: few and large, each rewritten whole.
            archives = await Guarded("re-encrypt task archives", async () =>
                await _archiveReencryption.StepAsync(active, maxFiles - rewritten, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            // Rewrites of an earlier step that the synchronous standby did not confirm, when no commit of this one did.
            await Guarded("confirm the re-encryption's rewrites on the synchronous standby", async () =>
            {
                await _unconfirmedRewrites.ConfirmAsync(_dataSource, cancellationToken).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Not counted to the end: the health must not say the old key protects nothing. The figure keeps what the
            // last step counted, the rows on the standby still under the old key (a commit it did not confirm), and at
            // least 1, the key may have changed since; before 2026-12-07 any other failure left the last step's figure,
            // 0 after a finished run (ReencryptionRemainingAfterAFailedStepTests, for the file store).
            long before = Interlocked.Read(ref _reencryptionRemaining);
            Interlocked.Exchange(ref _reencryptionRemaining, Math.Max(before, Math.Max(_unconfirmedRewrites.Count, 1)));
            throw;
        }

        int left = remaining + archives.Remaining + _unconfirmedRewrites.Count;
        Interlocked.Exchange(ref _reencryptionRemaining, left);
        return new ReencryptionStep(active, rewritten + archives.Rewritten, 0, left) { Damaged = archives.Damaged };
    }

    /// <summary>
    /// How many rows of each table are sealed under each key id, and how many are in the clear: once an old key's
    /// count is all zeros it can be removed from the key file. Scans every table (it reads each stored payload's key
    /// id), so it is for an operator, not for a health probe; the health details' <c>reencryption_files_remaining</c>
    /// (rows not under the active key, from the last re-encryption step) is the cheap signal.
    /// </summary>
    public async ValueTask<PostgresKeyUsage> MeasureKeyUsageAsync(CancellationToken cancellationToken = default)
    {
        RequireOpen();
        return await Guarded("measure the key usage", async () =>
            await PostgresKeyUsage.MeasureAsync(_dataSource, _schema, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="write"/>, which seals its payloads and then sends them (a commit, a log append, a report):
    /// when the active key changed meanwhile, its rows may have landed under the old key after a re-encryption run
    /// had already found nothing left (a commit stalled on its locks while the key rotated), so the run is told to look
    /// again (<see cref="ILateSealingStore"/>). The key is read before the write seals anything, so a rotation during
    /// it is always seen; a write that failed may still have committed (the connection lost at the commit), so it
    /// counts too. A count too many costs one step that finds nothing.
    /// </summary>
    private async ValueTask<T> LandingAsync<T>(Func<ValueTask<T>> write)
    {
        string? sealingKey = _payloads.ActiveKeyId;
        try
        {
            return await write().ConfigureAwait(false);
        }
        finally
        {
            if (!string.Equals(_payloads.ActiveKeyId, sealingKey, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _lateSealed);
            }
        }
    }
}
