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
    /// a payload under a key the codec lacks or has revoked, a payload that is damaged (fails its checksum, or does not
    /// decrypt although its key is not in question), one of another codec or a newer format. Payloads that are intact
    /// but do not authenticate under the key they name (the codec holds other key material under that id) are one
    /// problem per key, naming it, how many files and the first: that is the key file, not thousands of damaged files.
    /// Empty when everything decrypts.
    /// </summary>
    public static Task<IReadOnlyList<string>> VerifyAsync(string stateDirectory, IPayloadCodec codec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new StatePersistenceException(StateDirectoryAbsence.Describe(root), root);
        }

        var refusals = new List<StateFormatException>();
        var envelope = new PayloadEnvelope(codec) { KeyMaterialRefused = refusals.Add };
        IReadOnlyList<string> problems = new PayloadSweep(PhysicalFileSystem.Instance, new StateLayout(root), envelope, cancellationToken).Run();
        // The sweep lists each refusal it met by its own message (one a session log turned into damage, because another
        // frame proved the key, is not among them): those lines give way to one per key.
        var listed = problems.ToHashSet(StringComparer.Ordinal);
        List<StateFormatException> met = [.. refusals.Where(r => listed.Contains(r.Message))];
        if (met.Count == 0)
        {
            return Task.FromResult(problems);
        }

        var perFile = met.Select(r => r.Message).ToHashSet(StringComparer.Ordinal);
        IEnumerable<string> perKey = met.GroupBy(r => r.KeyId, StringComparer.Ordinal).Select(OtherKeyMaterial);
        return Task.FromResult<IReadOnlyList<string>>([.. perKey, .. problems.Where(p => !perFile.Contains(p))]);
    }

    private static string OtherKeyMaterial(IGrouping<string?, StateFormatException> refusals)
    {
        string first = refusals.First().Path ?? "";
        int files = refusals.Select(r => r.Path).Distinct(StringComparer.Ordinal).Count();
        return $"The key '{refusals.Key}' in this key file is not the key that sealed the {files} file(s) naming it (the first: '{first}'): " +
            "their checksums hold, so their bytes are intact, and none authenticates under the key material given for that id " +
            "(a mistyped key, or another host's key under the same id). Use the key file the directory was sealed with; this is not damage, and nothing was changed.";
    }
}
