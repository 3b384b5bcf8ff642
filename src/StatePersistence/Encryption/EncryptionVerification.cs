using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Recovery;
using StatePersistence.Serialization;

namespace StatePersistence.Encryption;

/// <summary>
/// Whether everything in a state directory decrypts (and checks out) with a codec: the directory is copied to a
/// private temporary directory (mode 0700; so the original, possibly in use by a running server, is never locked or
/// changed) and opened there with full recovery, then every session log and report is read. What <c>statectl keys
/// verify</c> runs.
/// </summary>
public static class EncryptionVerification
{
    /// <summary>
    /// The problems found: a payload under a key the codec lacks (the start refused), files recovery would quarantine,
    /// lost journal records, logs or reports that do not open. Empty when everything decrypts.
    /// </summary>
    public static async Task<IReadOnlyList<string>> VerifyAsync(string stateDirectory, IPayloadCodec codec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        string source = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(source))
        {
            throw new StatePersistenceException($"The state directory '{source}' does not exist.", source);
        }

        string copy = Directory.CreateTempSubdirectory("statepersistence-verify-").FullName;
        try
        {
            Copy(source, copy);
            return await VerifyCopyAsync(source, copy, codec, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static async Task<IReadOnlyList<string>> VerifyCopyAsync(string source, string copy, IPayloadCodec codec, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var options = new StatePersistenceOptions
        {
            StatePath = copy,
            PayloadCodec = codec,
            AutosaveInterval = TimeSpan.Zero,
            ScrubInterval = TimeSpan.Zero,
            ReencryptionInterval = TimeSpan.Zero,
            SnapshotOnShutdown = false,
        };
        StatePersistenceService service = FileStatePersistence.Create(options, codec: codec);
        var damaged = new List<string>();
        service.CorruptionDetected += (_, e) =>
        {
            lock (damaged)
            {
                damaged.Add(InOriginal($"'{e.File.OriginalPath}' does not open: {e.File.Reason}", source, copy));
            }
        };
        try
        {
            await service.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StateFormatException ex)
        {
            await service.DisposeAsync().ConfigureAwait(false);
            return [InOriginal(ex.Message, source, copy)];
        }

        await using (service.ConfigureAwait(false))
        {
            RecoveryReport report = service.LastRecovery!;
            problems.AddRange(report.Quarantined.Select(q => InOriginal($"'{q.OriginalPath}' does not open: {q.Reason}", source, copy)));
            problems.AddRange(report.Lost.Select(l => InOriginal(l, source, copy)));
            // A read takes the rotated parts with the live log; a session whose live log was just rotated has parts only.
            IEnumerable<string> sessions = Directory.EnumerateFiles(Path.Combine(copy, "logs"), "session_*")
                .Select(log => FileStore.StateLayout.TryParseSessionLogName(Path.GetFileName(log), out string id, out _) ? id : null)
                .OfType<string>().Distinct(StringComparer.Ordinal);
            foreach (string id in sessions)
            {
                await ReadAsync(() => service.ReadSessionLogAsync(id, cancellationToken).AsTask(), source, copy, problems).ConfigureAwait(false);
            }

            foreach (string id in await service.ListReportsAsync(cancellationToken).ConfigureAwait(false))
            {
                await ReadAsync(() => service.LoadReportAsync(id, cancellationToken).AsTask(), source, copy, problems).ConfigureAwait(false);
            }

            lock (damaged)
            {
                problems.AddRange(damaged.Except(problems));
            }

            await service.AbandonAsync().ConfigureAwait(false);
        }

        return problems;
    }

    private static async Task ReadAsync<T>(Func<Task<T>> read, string source, string copy, List<string> problems)
    {
        try
        {
            await read().ConfigureAwait(false);
        }
        catch (StatePersistenceException ex)
        {
            problems.Add(InOriginal(ex.Message, source, copy));
        }
    }

    /// <summary>Messages name the original directory's files, not the temporary copy's.</summary>
    private static string InOriginal(string message, string source, string copy) => message.Replace(copy, source, StringComparison.Ordinal);

    private static void Copy(string from, string to)
    {
        foreach (string directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (!Path.GetFileName(file).StartsWith(".lock", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
            }
        }
    }
}
