using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl verify</c> (<see cref="StateDirectoryVerifier"/>) lists a damaged backup once, with its reason. With
/// <c>state.json</c> unusable the read of the state falls back to the newest backup, as start-up recovery does, and
/// finds it damaged; the check of every backup then found it again, and the audit saw the newest backup listed twice.
/// </summary>
public sealed class VerifyBackupTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ADamagedNewestBackup_BesideACorruptStateJson_IsListedOnce()
    {
        string backup = await _fixture.WriteWithBackupAsync();
        CancellationToken ct = TestContext.Current.CancellationToken;
        byte[] bytes = await File.ReadAllBytesAsync(backup, ct);
        await File.WriteAllBytesAsync(backup, bytes[..(bytes.Length / 2)], ct);
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{ not json", ct);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath);

        string all = string.Join("\n", result.Problems);
        Assert.True(result.Problems.Count(p => p.Path == backup) == 1, all);
        Assert.Contains("corrupt", Assert.Single(result.Problems, p => p.Path == backup).Problem, StringComparison.Ordinal);
        Assert.True(result.Problems.Count(p => p.Path == _fixture.File("state.json")) == 1, all);
        Assert.True(result.Problems.Count == 2, all);
    }

    [Fact]
    public async Task AnUnreadableNewestBackup_BesideACorruptStateJson_IsListedOnce()
    {
        string backup = await _fixture.WriteWithBackupAsync();
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{ not json", TestContext.Current.CancellationToken);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == backup);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, disk);

        string all = string.Join("\n", result.Problems);
        Assert.True(result.Problems.Count(p => p.Path == backup) == 1, all);
        Assert.Contains("cannot be read", Assert.Single(result.Problems, p => p.Path == backup).Problem, StringComparison.Ordinal);
    }
}
