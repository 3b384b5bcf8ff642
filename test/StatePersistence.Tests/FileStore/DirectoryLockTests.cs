using System.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Testing.Processes;

namespace StatePersistence.Tests.FileStore;

public sealed class DirectoryLockTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task SecondProcessOnSameDirectory_GetsErrorNamingTheHolder()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService holder = await _fixture.OpenAsync();

        using Process second = ChildProcess.Start("hold", _fixture.StatePath);
        string stderr = await second.StandardError.ReadToEndAsync(ct);
        await second.WaitForExitAsync(ct);

        Assert.Equal(3, second.ExitCode);
        Assert.Contains("is in use by process " + Environment.ProcessId, stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A start reads the directory (its format, an import marker) before it takes the lock, while a running holder may be
    /// replacing those files: CI saw a second server's start fail on such a read ("Opening the state directory … failed")
    /// instead of naming the holder. A read failure there is now reported as the holder when another process holds the
    /// lock. The read fails on purpose here (EIO on opening state.json); a second open file description of the lock file
    /// conflicts with the holder's as another process's would.
    /// </summary>
    [Fact]
    public async Task AReadFailingBeforeTheLock_WhileAnotherHoldsIt_IsReportedAsTheHolder()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService holder = await _fixture.OpenAsync();
        await holder.SaveTaskAsync(new StatePersistence.Model.AgentTask { Id = "t1", Description = "d" }, ct);
        await holder.SaveSnapshotAsync(ct);

        (StateDirectoryLockedException refused, FaultInjectingFileSystem disk) = await StartWithStateJsonUnreadableAsync<StateDirectoryLockedException>(ct);

        Assert.True(disk.FaultsInjected > 0, "the start never read state.json before the lock");
        Assert.Contains("is in use by process " + Environment.ProcessId, refused.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(refused.InnerException);
        Assert.Equal("d", (await holder.LoadTaskAsync("t1", ct))!.Description);
    }

    [Fact]
    public async Task AReadFailingBeforeTheLock_WithNoHolder_IsReportedAsTheRead()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.SaveTaskAsync(new StatePersistence.Model.AgentTask { Id = "t1", Description = "d" }, ct);
        }

        (StateStorageException failed, _) = await StartWithStateJsonUnreadableAsync<StateStorageException>(ct);

        Assert.StartsWith($"Opening the state directory '{_fixture.StatePath}' failed", failed.Message, StringComparison.Ordinal);
    }

    /// <summary>Starts another service over the directory with every open and read of <c>state.json</c> failing (EIO); returns what the start threw.</summary>
    private async Task<(T Thrown, FaultInjectingFileSystem Disk)> StartWithStateJsonUnreadableAsync<T>(CancellationToken ct) where T : Exception
    {
        var disk = new FaultInjectingFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance);
        string snapshot = Path.Combine(_fixture.StatePath, "state.json");
        disk.InjectFault(FaultOperations.Open | FaultOperations.Read, InjectedError.IOError, persistent: true, pathFilter: p => p == snapshot);
        StatePersistenceService second = _fixture.Create(fileSystem: disk);
        T thrown = await Assert.ThrowsAsync<T>(() => second.StartAsync(ct));
        await second.DisposeAsync();
        return (thrown, disk);
    }

    [Fact]
    public async Task LockOfKilledProcess_IsReleasedByTheOs()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using (Process first = ChildProcess.Start("hold", _fixture.StatePath))
        {
            Assert.Equal("ready", await first.StandardOutput.ReadLineAsync(ct));
            StatePersistenceService blocked = _fixture.Create();
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => blocked.StartAsync(ct));
            await blocked.DisposeAsync();
            first.Kill();
            await first.WaitForExitAsync(ct);
        }

        await using StatePersistenceService after = await _fixture.OpenAsync();
        Assert.NotNull(after.LastRecovery);
    }
}
