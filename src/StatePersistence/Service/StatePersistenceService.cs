using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>
/// The persistence service: the seed's API over a store (the state directory by default). Create it, attach event
/// handlers, call <see cref="StartAsync"/> (recovery, then autosave), use it, and dispose it (final snapshot).
/// </summary>
public sealed partial class StatePersistenceService : IStatePersistence
{
    private readonly StatePersistenceOptions _options;
    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StateInstruments _instruments;
    private readonly SemaphoreSlim _checkpointLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private GroupCommitter? _committer;
    private Task? _autosave;
    private Task? _scrub;
    private long _snapshotRevision = -1;
    private DateTimeOffset? _lastSaved;
    private (string Message, DateTimeOffset Time)? _lastError;
    private bool _lastSaveFailed;
    private StoreHealth? _lastStoreHealth;
    private int _disposed;
    private Task? _disposal;

    /// <summary>Creates the service over <paramref name="store"/>, or over a <see cref="FileStateStore"/> when null.</summary>
    public StatePersistenceService(StatePersistenceOptions? options = null, IStateStore? store = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null)
    {
        _options = options ?? new StatePersistenceOptions();
        IReadOnlyList<string> problems = _options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid StatePersistence options: " + string.Join(" ", problems), nameof(options));
        }

        loggerFactory ??= NullLoggerFactory.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger("StatePersistence");
        _store = store ?? new FileStateStore(_options, timeProvider: _time, logger: loggerFactory.CreateLogger<FileStateStore>());
        if (_store is FileStateStore files)
        {
            files.FileQuarantined += (_, file) => OnQuarantinedWhileRunning(file);
        }

        _instruments = new StateInstruments(meterFactory, ObserveInstruments);
    }

    /// <summary>Creates the service and starts it.</summary>
    public static async Task<StatePersistenceService> OpenAsync(StatePersistenceOptions? options = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null,
        CancellationToken cancellationToken = default)
    {
        var service = new StatePersistenceService(options, null, loggerFactory, timeProvider, meterFactory);
        try
        {
            await service.StartAsync(cancellationToken).ConfigureAwait(false);
            return service;
        }
        catch
        {
            await service.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public RecoveryReport? LastRecovery { get; private set; }

    /// <inheritdoc />
    public string Location => _store.Location;

    /// <summary>The options in use.</summary>
    public StatePersistenceOptions Options => _options;

    /// <summary>The revision of the newest durable change.</summary>
    public long Revision => Committer.Durable.Revision;

    /// <summary>
    /// Opens the store, recovers the state (raising <see cref="StateLoaded"/>, and <see cref="CorruptionDetected"/>
    /// and <see cref="StateRecovered"/> when corruption was found) and starts the autosave.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_committer is not null)
        {
            throw new InvalidOperationException($"The persistence service for '{Location}' is already started.");
        }

        long started = Stopwatch.GetTimestamp();
        RecoveredState recovered;
        using (StateActivities.Source.StartActivity(StateActivities.Recovery))
        {
            recovered = await _store.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        _committer = new GroupCommitter(_store, recovered.View, ItemCodec.ToItem, _instruments);
        _snapshotRevision = recovered.Report.SnapshotSource == "state.json" && !recovered.Report.RebuiltFromItemFiles
            ? recovered.Report.SnapshotRevision
            : -1;
        LastRecovery = recovered.Report;
        _lastSaved = recovered.Report.SnapshotSavedAt;
        _instruments.LoadDuration.Record(elapsed.TotalSeconds);
        ReportRecovery(recovered.Report, elapsed);

        if (_options.AutosaveInterval > TimeSpan.Zero)
        {
            // The timer starts now, not when the loop first runs, so time that passes before then is not lost.
            var timer = new PeriodicTimer(_options.AutosaveInterval, _time);
            _autosave = Task.Run(() => AutosaveLoopAsync(timer, _stopping.Token), CancellationToken.None);
        }

        StartScrub();
    }

    /// <summary>
    /// Stops the autosave, writes the final snapshot (when enabled) and releases the state directory. Every caller,
    /// including concurrent ones, returns only once that is done.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_stopping)
        {
            _disposal ??= DisposeOnceAsync();
        }

        return new ValueTask(_disposal);
    }

    private async Task DisposeOnceAsync()
    {
        Volatile.Write(ref _disposed, 1);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_autosave is not null)
        {
            await _autosave.ConfigureAwait(false);
        }

        if (_scrub is not null)
        {
            await _scrub.ConfigureAwait(false);
        }

        if (_committer is not null && _options.SnapshotOnShutdown)
        {
            await FinalSnapshotAsync().ConfigureAwait(false);
        }

        await _store.DisposeAsync().ConfigureAwait(false);
        _instruments.Dispose();
    }

    private GroupCommitter Committer => _committer ?? throw new InvalidOperationException(
        $"The persistence service for '{Location}' is not started: call StartAsync first.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private async Task FinalSnapshotAsync()
    {
        Exception? error = null;
        long revision = Committer.Durable.Revision;
        try
        {
            if (revision != _snapshotRevision)
            {
                await CheckpointAsync(force: false, CancellationToken.None).ConfigureAwait(false);
                Log.ShutdownSaved(_logger, revision);
            }
        }
        catch (StatePersistenceException ex)
        {
            // Reported through the save-error path already; every acknowledged save is still in the journal.
            error = ex;
        }

        Raise(ShutdownSaved, new ShutdownSaveEventArgs(revision, error), nameof(ShutdownSaved));
    }
}
