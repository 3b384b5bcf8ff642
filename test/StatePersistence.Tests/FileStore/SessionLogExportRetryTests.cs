using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An export beside a running server copies a session's live log and parts together, opening them again when a
/// rotation renamed any of them meanwhile. A rotation renames each part in turn with a directory fsync after each, so
/// it can span many back-to-back attempts; the export waits between them (<c>ReadRetry</c>: 1 ms doubling up to 250 ms,
/// 20 attempts) where it once tried 5 times at once and failed.
/// </summary>
public sealed class SessionLogExportRetryTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ARotationSeenByTenAttempts_IsWaitedOut_AndTheLogIsCopied()
    {
        StateLayout layout = await WithOneLogAsync();
        var files = new RotatingFileSystem(PhysicalFileSystem.Instance, layout.LogsDirectory, attemptsSeeingIt: 10);
        var pauses = new List<TimeSpan>();
        var copied = new List<string>();

        int count = SessionLogExport.CopyAll(files, layout, PayloadEnvelope.For(null), (name, _) => copied.Add(name), [], pauses.Add);

        Assert.Equal(1, count);
        Assert.Equal(["session_s1.log"], copied);
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 250, 250], pauses.Select(p => p.TotalMilliseconds));
    }

    [Fact]
    public async Task ARotationThatNeverEnds_FailsAfterTwentyAttempts_NamingTheSession()
    {
        StateLayout layout = await WithOneLogAsync();
        var files = new RotatingFileSystem(PhysicalFileSystem.Instance, layout.LogsDirectory, attemptsSeeingIt: int.MaxValue);
        var pauses = new List<TimeSpan>();

        IOException refused = Assert.Throws<IOException>(() => SessionLogExport.CopyAll(files, layout, PayloadEnvelope.For(null), (_, _) => { }, [], pauses.Add));

        Assert.Equal(19, pauses.Count);
        Assert.Contains("'session_s1'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("kept being rotated", refused.Message, StringComparison.Ordinal);
    }

    private async Task<StateLayout> WithOneLogAsync()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.AppendSessionLogAsync("s1", "one\n", TestContext.Current.CancellationToken);
        }

        return new StateLayout(_fixture.StatePath);
    }

    /// <summary>
    /// A session log whose identity changes between every two looks for the first <c>attemptsSeeingIt</c> attempts
    /// (an attempt looks before opening and after), as a rotation renaming files under the copy shows.
    /// </summary>
    private sealed class RotatingFileSystem(IFileSystem inner, string logsDirectory, int attemptsSeeingIt) : PassThroughFileSystem(inner)
    {
        private long _looks;

        public override FileIdentity? IdentityOf(string path)
        {
            if (Path.GetDirectoryName(Path.GetFullPath(path)) != Path.GetFullPath(logsDirectory) || _looks >= 2L * attemptsSeeingIt)
            {
                return Inner.IdentityOf(path);
            }

            return new FileIdentity(1, (ulong)++_looks, 1);
        }
    }
}
