using System.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;
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
