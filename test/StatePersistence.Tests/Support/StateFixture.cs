using Microsoft.Extensions.Time.Testing;
using StatePersistence.FileSystem;
using StatePersistence.Model;

namespace StatePersistence.Tests.Support;

/// <summary>Opens services on a temp state directory with a fake clock.</summary>
public sealed class StateFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// Advances <see cref="Time"/> a second at a time, letting the background loops it drives run in between, until
    /// <paramref name="done"/> holds; bounded, never a timing assertion (a key file is read again after a real second,
    /// so real time passes too).
    /// </summary>
    public async System.Threading.Tasks.Task TickUntilAsync(Func<bool> done, string what)
    {
        for (int i = 0; i < 600 && !done(); i++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await System.Threading.Tasks.Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(done(), $"the background work did not get there: {what}");
    }

    public string StatePath => _directory.Combine("state");

    public string File(params string[] parts) => System.IO.Path.Combine([StatePath, .. parts]);

    public StatePersistenceOptions Options(Action<StatePersistenceOptions>? configure = null)
    {
        var options = new StatePersistenceOptions
        {
            StatePath = StatePath,
            AutosaveInterval = TimeSpan.FromSeconds(30),

            // No measure of the folders started in the background as the store opens: its listings and opens would
            // land among the calls tests count or fault (ReportIndexTests counts the listings of reports/). A health
            // check then measures at once; DiskUsageIntervalTests sets the interval it tests.
            DiskUsageInterval = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }

    internal StatePersistenceService Create(Action<StatePersistenceOptions>? configure = null, IFileSystem? fileSystem = null,
        System.Diagnostics.Metrics.IMeterFactory? meters = null)
    {
        StatePersistenceOptions options = Options(configure);
        var store = new StatePersistence.FileStore.FileStateStore(options, fileSystem ?? PhysicalFileSystem.Instance, timeProvider: Time);
        return new StatePersistenceService(options, store, timeProvider: Time, meterFactory: meters);
    }

    internal async Task<StatePersistenceService> OpenAsync(Action<StatePersistenceOptions>? configure = null, IFileSystem? fileSystem = null)
    {
        StatePersistenceService service = Create(configure, fileSystem);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>
    /// Opens a service over <paramref name="fileSystem"/> with the codec its options resolve (a key file's, say), which
    /// the store's constructor over a file system otherwise leaves out (it then stores in the clear).
    /// </summary>
    internal async Task<StatePersistenceService> OpenWithCodecAsync(IFileSystem fileSystem, Action<StatePersistenceOptions> configure)
    {
        StatePersistenceOptions options = Options(configure);
        var store = new StatePersistence.FileStore.FileStateStore(options, fileSystem, options.ResolvePayloadCodec(), Time);
        var service = new StatePersistenceService(options, store, timeProvider: Time);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>A key file beside the state directory (outside it, as a deployment keeps it): <see cref="OpenEncryptedAsync"/> uses it.</summary>
    internal string KeyFilePath => Path.Combine(Path.GetDirectoryName(StatePath)!, "keys.json");

    /// <summary>
    /// Opens a service over <paramref name="fileSystem"/> sealing with <see cref="KeyFilePath"/> (the caller creates it),
    /// with the scrub, the autosave and the background re-encryption off: the test drives the re-encryption itself.
    /// </summary>
    internal Task<StatePersistenceService> OpenEncryptedAsync(IFileSystem fileSystem) => OpenWithCodecAsync(fileSystem, o =>
    {
        o.Encryption.KeyFile = KeyFilePath;
        o.ScrubInterval = TimeSpan.Zero;
        o.AutosaveInterval = TimeSpan.Zero;
        o.ReencryptionInterval = TimeSpan.Zero;
    });

    /// <summary>
    /// Creates <paramref name="keyFile"/> and writes a state sealed with its key: one task, its snapshot taken (the scrub
    /// off). Returns the key's id.
    /// </summary>
    internal async Task<string> WriteSealedStateAsync(string keyFile)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string key = StatePersistence.Encryption.EncryptionKeyFile.Create(keyFile).Active.Id;
        await using StatePersistenceService service = StatePersistence.FileStore.FileStatePersistence.Create(Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.ScrubInterval = TimeSpan.Zero;
        }), timeProvider: Time);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(Task("t1"), ct);
        await service.SaveSnapshotAsync(ct);
        return key;
    }

    /// <summary>Makes the service's store read its key file now, rather than at its next check (once a second of the system's time).</summary>
    internal static void ReloadKeyFile(StatePersistenceService service) =>
        ((StatePersistence.Storage.IKeyFileUser)service.Store).KeyFile!.Reload();

    /// <summary>The stores a store-independent feature is tested on (the service's own logic over each of them).</summary>
    public static TheoryData<string> Stores => ["file", "memory"];

    /// <summary>Opens a service over the file store (on this fixture's directory) or the in-memory store.</summary>
    public async Task<StatePersistenceService> OpenAsync(string store)
    {
        StatePersistenceService service = store == "memory"
            ? new StatePersistenceService(Options(), new StatePersistence.InMemory.InMemoryStateStore(), timeProvider: Time)
            : Create();
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>
    /// Opens a service and abandons it without shutdown, as a crash would: no final snapshot. The directory lock is
    /// released the way the OS releases it for a dead process.
    /// </summary>
    public static async Task CrashAsync(StatePersistenceService service)
    {
        await service.AbandonAsync();
    }

    /// <summary>Two tasks and two checkpoints, so the first <c>state.json</c> is a backup; returns the backup's path.</summary>
    public async Task<string> WriteWithBackupAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await OpenAsync())
        {
            await service.SaveTaskAsync(Task("task_1"), ct);
            await service.SaveTaskAsync(Task("task_2"), ct);
            await service.SaveSnapshotAsync(ct);
            await service.SaveTaskAsync(Task("task_1", description: "changed"), ct);
        }

        return Assert.Single(Directory.GetFiles(StatePath, "state.backup.*.json"));
    }

    public static AgentTask Task(string id, string status = TaskStatuses.Pending, string description = "Implement authentication") => new()
    {
        Id = id,
        Description = description,
        Status = status,
        Tool = "CLAUDECODE",
        CreatedAt = new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero),
        UpdatedAt = new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero),
    };

    public void Dispose() => _directory.Dispose();
}
