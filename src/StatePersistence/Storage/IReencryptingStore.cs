using StatePersistence.Commit;
using StatePersistence.Encryption;

namespace StatePersistence.Storage;

/// <summary>
/// A store whose stored payloads the background re-encryption can bring under the active key (issue 15 item 2): the
/// file store. Internal: the loop and the store are the library's own.
/// </summary>
internal interface IReencryptingStore
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
    /// One small step, run while no checkpoint runs: rewrites up to <paramref name="maxFiles"/> logs, reports and
    /// backups still under another key (or in the clear) and marks such item files for the next checkpoint to write.
    /// </summary>
    ValueTask<ReencryptionStep> ReencryptStepAsync(StateView current, int maxFiles, CancellationToken cancellationToken);
}

/// <summary>What one step found and did.</summary>
/// <param name="ActiveKeyId">The key the step sealed with; null when it wrote in the clear.</param>
/// <param name="Rewritten">Files it rewrote itself.</param>
/// <param name="ForCheckpoint">Files a checkpoint must rewrite (item files, <c>state.json</c>, journal segments).</param>
/// <param name="Remaining">Files still under another key after the step, those for the checkpoint included.</param>
internal sealed record ReencryptionStep(string? ActiveKeyId, int Rewritten, int ForCheckpoint, int Remaining)
{
    /// <summary>
    /// Files found damaged by this step and left exactly as they are (a task archive that does not read back whole):
    /// the path and what is wrong. Each is reported once; they stay counted in <see cref="Remaining"/>.
    /// </summary>
    public IReadOnlyList<(string Path, string Problem)> Damaged { get; init; } = [];
}
