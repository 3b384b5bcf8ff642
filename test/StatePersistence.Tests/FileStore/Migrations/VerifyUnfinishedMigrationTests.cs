using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Operations;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Migrations;

/// <summary>
/// <c>statectl verify</c> of a directory whose migration did not finish (a <c>migrate apply</c> of a Node directory
/// killed halfway: tried at kill points from 0 to 12 s into a 1,000-task import) said "OK: no problems", while the next
/// open rolls it back and runs it again and <c>migrate status</c> calls it interrupted. It now says so, with what to do.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class VerifyUnfinishedMigrationTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public VerifyUnfinishedMigrationTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");
        NodeStateDirectory.WriteTo(_fixture.StatePath);
    }

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("migrating", "'statectl migrate apply', or the next start, rolls it back and runs it again")]
    [InlineData("rolling-back", "run 'statectl migrate rollback' again to finish it")]
    public async Task AnUnfinishedRun_IsAProblem_SayingWhatToDo_OrThatItIsRunningNow(string status, string advice)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await StateMigrations.ApplyAsync(_fixture.Options(), cancellationToken: ct);
        Assert.True(StateDirectoryVerifier.Verify(_fixture.StatePath).Ok);
        // The manifest as a run (or a rollback) that has not finished leaves it.
        string manifest = _fixture.File("pre-migration", "manifest.json");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest, ct)).Replace("\"applied\"", $"\"{status}\"", StringComparison.Ordinal), ct);

        StateDirectoryProblem left = Assert.Single(StateDirectoryVerifier.Verify(_fixture.StatePath).Problems);
        StateDirectoryProblem running;
        // FileShare.None takes a flock(2) on Linux, as the store's directory lock does: this process is "the server".
        using (new FileStream(_fixture.File(".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            running = Assert.Single(StateDirectoryVerifier.Verify(_fixture.StatePath).Problems);
        }

        Assert.Equal(manifest, left.Path);
        Assert.Contains("1.0.0 -> 2.1.0", left.Problem, StringComparison.Ordinal);
        Assert.Contains("did not finish", left.Problem, StringComparison.Ordinal);
        Assert.Contains(advice, left.Problem, StringComparison.Ordinal);
        if (OperatingSystem.IsLinux())
        {
            Assert.Contains($"process {Environment.ProcessId} holds the directory and is running it now", running.Problem, StringComparison.Ordinal);
        }
    }
}
