using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A disposal waits for the saves already accepted: each is written (or fails on its own merits) before the final
/// snapshot and before the store is released, and a save called once the disposal began gets
/// <see cref="ObjectDisposedException"/>. Every call either succeeded, and the next start loads it, or was refused as
/// disposed; the final snapshot holds every success, so the next start replays no journal record.
/// </summary>
public sealed class DisposeWithSavesInFlightTests : IDisposable
{
    private const int Queued = 40;
    private const int Late = 10;

    /// <summary>The log event saying the shutdown waits for saves in flight.</summary>
    private const int ShutdownWaitsForSaves = 88;

    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task InMemory_SavesInFlightWhenDisposed_AreStoredOrRefusedAsDisposed_NeverFailed()
    {
        var store = new HeldAppendStore();
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var service = new StatePersistenceService(new StatePersistenceOptions(), store, loggers, blobs: store.Inner);
        List<StateSaveErrorEventArgs> errors = Errors(service);
        await service.StartAsync(Ct);

        store.Hold();
        var saves = new List<(string Id, Task Save)> { ("t0", Task.Run(() => service.SaveTaskAsync(StateFixture.Task("t0"), Ct).AsTask(), Ct)) };
        await store.AppendWaiting.WaitAsync(Ct);
        Task disposal = SavesAroundDisposal(service, saves);
        // The appends are let go once the disposal waits for them (it says so), or once it closed the store without
        // waiting, as it did before: then they met a closed store.
        for (int i = 0; i < 1000 && !logs.Entries.Any(e => e.Id == ShutdownWaitsForSaves) && !store.Disposed.IsCompleted; i++)
        {
            await Task.Delay(10, Ct);
        }

        store.Release();
        await disposal;

        List<string> stored = await OutcomesAsync(saves);
        Assert.Equal(Queued + 1, stored.Count);
        Assert.Empty(errors);
        CapturedLogs.Entry waited = Assert.Single(logs.Entries, e => e.Id == ShutdownWaitsForSaves);
        Assert.Contains($"waiting for {Queued + 1} save(s) accepted before the shutdown", waited.Message, StringComparison.Ordinal);

        await using var again = new StatePersistenceService(new StatePersistenceOptions(), new InMemoryStateStore(store.Inner.Storage));
        await again.StartAsync(Ct);
        Assert.Equal(stored.Order(StringComparer.Ordinal), (await again.LoadTasksAsync(Ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FileStore_SavesInFlightWhenDisposed_AreInTheFinalSnapshot_NothingLeftToReplay()
    {
        var fileSystem = new JournalRecordGate(PhysicalFileSystem.Instance);
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        StatePersistenceOptions options = _fixture.Options();
        var service = new StatePersistenceService(options, new FileStateStore(options, fileSystem, timeProvider: _fixture.Time), loggers, _fixture.Time);
        List<StateSaveErrorEventArgs> errors = Errors(service);
        await service.StartAsync(Ct);
        // The run's first save starts the journal segment; the gate holds the next record written to it.
        await service.SaveTaskAsync(StateFixture.Task("first"), Ct);
        // Ended by the disposal just before its final snapshot (no revision ever gets this far).
        Task waitEnded = service.WaitForTaskAsync("never", long.MaxValue, Ct).AsTask();

        fileSystem.Arm();
        // On the thread pool: the save leads its group, and the write of its record blocks its thread.
        var saves = new List<(string Id, Task Save)> { ("t0", Task.Run(() => service.SaveTaskAsync(StateFixture.Task("t0"), Ct).AsTask(), Ct)) };
        await fileSystem.RecordWriteEntered.WaitAsync(Ct);
        Task disposal = SavesAroundDisposal(service, saves);
        // The record is let go once the disposal waits for the saves (it says so), or once it went on to its final
        // snapshot without waiting, as it did before: that snapshot then came before the saves queued behind.
        for (int i = 0; i < 1000 && !logs.Entries.Any(e => e.Id == ShutdownWaitsForSaves) && !waitEnded.IsCompleted; i++)
        {
            await Task.Delay(10, Ct);
        }

        fileSystem.Release();
        await disposal;

        List<string> stored = await OutcomesAsync(saves);
        Assert.Equal(Queued + 1, stored.Count);
        Assert.Empty(errors);

        await using StatePersistenceService again = await _fixture.OpenAsync();
        Assert.Equal(0, again.LastRecovery!.JournalRecordsReplayed);
        Assert.Equal(stored.Append("first").Order(StringComparer.Ordinal), (await again.LoadTasksAsync(Ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// With the first save's append held: saves queued behind it, the disposal started, then saves called once it
    /// began. Returns the disposal.
    /// </summary>
    private static Task SavesAroundDisposal(StatePersistenceService service, List<(string Id, Task Save)> saves)
    {
        // Each call returns once its save is queued (the group in flight holds the lead).
        for (int i = 1; i <= Queued; i++)
        {
            saves.Add(($"t{i}", service.SaveTaskAsync(StateFixture.Task($"t{i}"), Ct).AsTask()));
        }

        Task disposal = service.DisposeAsync().AsTask();
        for (int i = Queued + 1; i <= Queued + Late; i++)
        {
            saves.Add(($"t{i}", service.SaveTaskAsync(StateFixture.Task($"t{i}"), Ct).AsTask()));
        }

        return disposal;
    }

    /// <summary>The ids of the saves that succeeded; any outcome but success or <see cref="ObjectDisposedException"/> fails the test.</summary>
    private static async Task<List<string>> OutcomesAsync(List<(string Id, Task Save)> saves)
    {
        var stored = new List<string>();
        foreach ((string id, Task save) in saves)
        {
            try
            {
                await save;
                stored.Add(id);
            }
            catch (ObjectDisposedException)
            {
                Assert.True(int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) > Queued, $"{id}, queued before the disposal, was refused as disposed");
            }
        }

        return stored;
    }

    private static List<StateSaveErrorEventArgs> Errors(StatePersistenceService service)
    {
        var errors = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e);
            }
        };
        return errors;
    }

    /// <summary>
    /// Passes every call through, except that once armed, the next journal record written (a write to a segment of
    /// anything but zeros, past its header) blocks until released: a group append held in flight on real files.
    /// </summary>
    private sealed class JournalRecordGate(IFileSystem inner) : PassThroughFileSystem(inner)
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();
        private int _armed;

        public Task RecordWriteEntered => _entered.Task;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public void Release() => _release.Set();

        public override IFileHandle Open(string path, FileOpenMode mode)
        {
            IFileHandle handle = Inner.Open(path, mode);
            return path.EndsWith(".wal", StringComparison.Ordinal) ? new GatedSegment(handle, this) : handle;
        }

        private void BeforeWrite(long offset, ReadOnlySpan<byte> data)
        {
            if (offset > 0 && data.IndexOfAnyExcept((byte)0) >= 0 && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _entered.TrySetResult();
                Assert.True(_release.Wait(TimeSpan.FromSeconds(60)), "the test never released the journal write");
            }
        }

        private sealed class GatedSegment(IFileHandle handle, JournalRecordGate owner) : IFileHandle
        {
            public string Path => handle.Path;

            public long Length => handle.Length;

            public int Read(long offset, Span<byte> buffer) => handle.Read(offset, buffer);

            public void Write(long offset, ReadOnlySpan<byte> data)
            {
                owner.BeforeWrite(offset, data);
                handle.Write(offset, data);
            }

            public void SetLength(long length) => handle.SetLength(length);

            public void Sync() => handle.Sync();

            public bool IsStillAtPath() => handle.IsStillAtPath();

            public void Dispose() => handle.Dispose();
        }
    }
}
