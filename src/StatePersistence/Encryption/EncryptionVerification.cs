using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Encryption;

/// <summary>
/// Whether everything in a state directory decrypts (and checks out) with a codec: every payload is opened where it
/// lies (see <see cref="PayloadSweep"/>): <c>state.json</c> and every backup, every record of every journal segment,
/// every task and session file, every frame of every session log, every report and every entry of every task archive.
/// Read-only: no lock, no copy, nothing written, moved or repaired, so it runs beside a server. What
/// <c>statectl keys verify</c> runs.
/// </summary>
public static class EncryptionVerification
{
    /// <summary>
    /// The problems found, each once, each naming its file (in <paramref name="stateDirectory"/>) and what is wrong:
    /// a payload under a key the codec lacks or has revoked, a payload that is damaged (fails its checksum or does not
    /// decrypt), one of another codec or a newer format. Empty when everything decrypts.
    /// </summary>
    public static Task<IReadOnlyList<string>> VerifyAsync(string stateDirectory, IPayloadCodec codec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new StatePersistenceException($"The state directory '{root}' does not exist.", root);
        }

        var sweep = new PayloadSweep(PhysicalFileSystem.Instance, new StateLayout(root), new PayloadEnvelope(codec), cancellationToken);
        return Task.FromResult(sweep.Run());
    }
}
