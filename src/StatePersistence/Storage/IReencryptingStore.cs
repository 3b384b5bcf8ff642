using StatePersistence.Commit;
using StatePersistence.Encryption;

namespace StatePersistence.Storage;

/// <summary>
/// A store whose stored payloads the service's background re-encryption (issue 15) can bring under the active key:
/// after a key rotation, and when encryption is turned on or off over existing data. The file store and the
/// PostgreSQL store implement it; the service drives it (one step per <see cref="StatePersistenceOptions.ReencryptionInterval"/>,
/// the next at once while a step used its whole budget). A store outside this assembly builds it on
/// <see cref="StorePayloads"/> (its <see cref="StorePayloads.ActiveKeyId"/> and <see cref="StorePayloads.KeyStates"/>).
/// </summary>
public interface IReencryptingStore
{
    /// <summary>
    /// The key new payloads are sealed with; null in the clear: then nothing is re-encrypted without a key ring, and
    /// with one (<see cref="KeyStates"/> not null, no key active: encryption being turned off) every sealed payload is
    /// rewritten in the clear.
    /// </summary>
    string? ActiveKeyId { get; }

    /// <summary>The ids and states of the key ring's keys as the codec sees them now; null without a key ring.</summary>
    IReadOnlyDictionary<string, EncryptionKeyState>? KeyStates { get; }

    /// <summary>
    /// One small step, run while no checkpoint runs: rewrites up to <paramref name="maxFiles"/> stored payloads still
    /// under another key (or in the clear) under the active key (or in the clear, with no key active), without
    /// changing what any of them holds. A store with checkpoints may instead mark some for the next checkpoint to write.
    /// </summary>
    /// <param name="current">The service's durable state now.</param>
    /// <param name="maxFiles">The most files (or rows) the step rewrites itself.</param>
    /// <param name="cancellationToken">Stops the step between rewrites.</param>
    ValueTask<ReencryptionStep> ReencryptStepAsync(StateView current, int maxFiles, CancellationToken cancellationToken);

    /// <summary>
    /// The files (or rows) not under the active key as the store last counted them: its health details'
    /// <c>reencryption_files_remaining</c>, which the <c>statepersistence.reencryption.files.remaining</c> gauge shows
    /// too, so both agree; null (the default) when the store keeps no such figure, and the gauge shows each step's
    /// <see cref="ReencryptionStep.Remaining"/>. Null too until a step has counted (the gauge then shows nothing), never
    /// a 0 nobody counted: 0 is the operator's sign that an old key protects nothing.
    /// </summary>
    long? FilesRemaining => null;
}

/// <summary>What one step found and did.</summary>
/// <param name="ActiveKeyId">The key the step sealed with; null when it wrote in the clear.</param>
/// <param name="Rewritten">Files (or rows) it rewrote itself.</param>
/// <param name="ForCheckpoint">Files a checkpoint must rewrite (the file store's item files, <c>state.json</c>, journal segments).</param>
/// <param name="Remaining">Files (or rows) still under another key after the step, those for the checkpoint included.</param>
public sealed record ReencryptionStep(string? ActiveKeyId, int Rewritten, int ForCheckpoint, int Remaining)
{
    /// <summary>
    /// Files found damaged by this step and left exactly as they are (a task archive that does not read back whole):
    /// the path and what is wrong. Each is reported once; they stay counted in <see cref="Remaining"/>.
    /// </summary>
    public IReadOnlyList<(string Path, string Problem)> Damaged { get; init; } = [];
}
