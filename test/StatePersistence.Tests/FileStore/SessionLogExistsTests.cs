using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <see cref="IStateBlobStore.SessionLogExistsAsync"/> on the file store: a log is there when any of its files is (the
/// live log, or a rotated part with the live log rotated away), learned without opening one, so a log of any size,
/// under any key, costs a look at the folder. What <c>DELETE /api/sessions/{id}/log</c> asks for a session that is not
/// there (SessionLogDeleteExistenceTests in the server's tests).
/// </summary>
public sealed class SessionLogExistsTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogAllInRotatedParts_IsFound_WithoutAFileOfItOpened_AndNoLogIsNone()
    {
        var disk = new LogOpenCounter(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero, disk);
        var store = (IStateBlobStore)service.Store;
        for (int i = 0; i < 50; i++)
        {
            await service.AppendSessionLogAsync("s1", new string('x', 1000) + "\n", Ct);
        }

        Assert.NotNull(await ((IRetentionStore)store).CapSessionLogAsync("s1", 1, 1, Durability.Full, Ct));
        Assert.False(File.Exists(_fixture.File("logs", "session_s1.log")));
        Assert.True(File.Exists(_fixture.File("logs", "session_s1.log.1")));
        disk.Opened.Clear();

        Assert.True(await service.SessionLogExistsAsync("s1", Ct));
        Assert.False(await service.SessionLogExistsAsync("s2", Ct));
        Assert.Empty(disk.Opened);

        await service.AppendSessionLogAsync("s2", "live only\n", Ct);
        disk.Opened.Clear();
        Assert.True(await service.SessionLogExistsAsync("s2", Ct));
        await service.DeleteSessionLogAsync("s1", Ct);
        Assert.False(await service.SessionLogExistsAsync("s1", Ct));
        Assert.Empty(disk.Opened);
    }

    /// <summary>Records every open of a file under <c>logs/</c>.</summary>
    private sealed class LogOpenCounter(IFileSystem inner) : PassThroughFileSystem(inner)
    {
        public List<string> Opened { get; } = [];

        public override IFileHandle Open(string path, FileOpenMode mode)
        {
            if (path.Contains($"{Path.DirectorySeparatorChar}logs{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && mode == FileOpenMode.Read)
            {
                lock (Opened)
                {
                    Opened.Add(path);
                }
            }

            return Inner.Open(path, mode);
        }
    }
}
