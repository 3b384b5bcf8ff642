using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// A task archive beside an encrypted workload's re-encryption: seeded (a failed task with its session's log and its
/// report, archived under the first key) and then checked in every crash image: exactly one archive under
/// <c>archive/</c>, whole (its manifest's lengths and SHA-256s hold), every entry under the old key or every entry
/// under the new one (never a mix), each opening to what was archived; and once the re-encryption returned, under the
/// new one. The archived task, log and report leave the live state, so they are not the model's: it never saw them.
/// </summary>
internal sealed class ArchiveUnderRotation(string oldTarget, string newTarget)
{
    /// <summary>The name a clear archive's entries go by (no key: encryption turned off).</summary>
    public const string Clear = "clear";

    private static readonly DateTimeOffset Cut = Services.Epoch.AddDays(-1);
    private readonly PayloadEnvelope _opener = new(new AesGcmCodec(new BothKeys()));
    private Dictionary<string, byte[]> _archived = [];
    private ModelOp? _reencryption;

    /// <summary>Whether <paramref name="path"/> is a task archive or its temp file: a sealed one's gzip length depends on the nonces.</summary>
    public static bool IsArchiveFile(string path) =>
        path.StartsWith(CrashSimulatingFileSystem.DefaultRoot + "/" + TaskArchives.DirectoryName + "/", StringComparison.Ordinal);

    /// <summary>Archives the task <c>old</c> with its log and report (run once per workload run, in its setup).</summary>
    public async Task SeedAsync(WorkloadRun run)
    {
        _reencryption = null;
        await run.SaveSession(new SessionInfo { Id = "s-old", Type = "batch", Status = "done", TaskId = "old" });
        StatePersistenceService service = run.Service;
        await service.SaveTaskAsync(new AgentTask { Id = "old", Description = "archived under the first key", Status = TaskStatuses.Failed, UpdatedAt = Cut.AddDays(-3) });
        await service.AppendSessionLogAsync("s-old", "archived log line\n");
        await service.SaveReportAsync("old", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = "archived report" }));
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Cut, withLogs: true);
        Assert.Equal(["old"], result.Tasks);
        Assert.Equal((1, 1), (result.Logs, result.Reports));
        (string? key, Dictionary<string, byte[]>? plain, string? problem) = Open(result.Archive!, run.Disk.ReadAllBytes(result.Archive!));
        Assert.True(problem is null && key == oldTarget, problem ?? $"the archive is under {key}, not {oldTarget}");
        _archived = plain!;
    }

    /// <summary>Runs the re-encryption as a modelled step; once it returned, the archive must be under the new target.</summary>
    public Task ReencryptAsync(WorkloadRun run, string description)
    {
        _reencryption = run.Model.Note(description);
        return run.Step(_reencryption, s => s.ReencryptToEndAsync());
    }

    /// <summary>What is wrong with the archive in <paramref name="image"/>; null when nothing is.</summary>
    public string? Check(DurableImage image)
    {
        string directory = CrashSimulatingFileSystem.DefaultRoot + "/" + TaskArchives.DirectoryName + "/";
        List<string> archives = [.. image.Files.Keys.Where(p => p.StartsWith(directory, StringComparison.Ordinal) && p.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal))];
        if (archives.Count != 1)
        {
            return $"{archives.Count} task archives instead of 1: {string.Join(", ", archives)}";
        }

        (string? key, Dictionary<string, byte[]>? plain, string? problem) = Open(archives[0], image.ReadFile(archives[0]));
        if (problem is not null)
        {
            return problem;
        }

        if (key != oldTarget && key != newTarget)
        {
            return $"the task archive is under {key}, neither {oldTarget} nor {newTarget}";
        }

        if (_reencryption is { Acknowledged: true } && key != newTarget)
        {
            return $"the re-encryption returned, but the task archive is still under {key}";
        }

        string? differs = _archived.Keys.FirstOrDefault(name => !plain!.TryGetValue(name, out byte[]? content) || !content.AsSpan().SequenceEqual(_archived[name]));
        return differs is null && plain!.Count == _archived.Count ? null : $"the task archive's entry {differs ?? "count"} differs from what was archived";
    }

    /// <summary>The archive read whole, the one key all its entries are under (or <see cref="Clear"/>), and the entries opened.</summary>
    private (string? Key, Dictionary<string, byte[]>? Plain, string? Problem) Open(string path, byte[] bytes)
    {
        try
        {
            (TaskArchiveManifest manifest, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(bytes, path);
            if (!manifest.Sealed)
            {
                return (Clear, entries, null);
            }

            HashSet<string> keys = [.. entries.Values.Select(e => EnvelopeFormat.ReadHeader(e, out _, out _, out string? keyId) > 0 ? keyId ?? Clear : "no envelope")];
            if (keys.Count != 1)
            {
                return (null, null, $"the task archive's entries are under a mix of keys: {string.Join(", ", keys)}");
            }

            return (keys.Single(), entries.ToDictionary(e => e.Key, e => _opener.Open(TaskArchiveManifest.KindOf(e.Key), e.Key, e.Value, path), StringComparer.Ordinal), null);
        }
        catch (InvalidDataException ex)
        {
            return (null, null, "the task archive is not whole: " + ex.Message);
        }
    }

    /// <summary>Both keys of the workloads' ring, to open the archive whichever of them sealed it.</summary>
    private sealed class BothKeys : IEncryptionKeyProvider
    {
        public EncryptionKeyRing GetKeyRing() => EncryptedWorkloadTests.RotatingKeys.Rotated;
    }
}
