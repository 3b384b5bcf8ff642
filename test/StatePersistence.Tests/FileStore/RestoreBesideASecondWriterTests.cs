using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A restore checks every log and report absent, then writes them. A log written in between (by a second restore of
/// the same archive: on PostgreSQL a run that lost its archive lock beside the run that took it over) was appended to,
/// the log then holding the archive's text twice; a report saved in between (a client's) was replaced. The restore
/// now writes each only if it is still absent (<see cref="IStateBlobStore.TryCreateSessionLogAsync"/>,
/// <see cref="IStateBlobStore.TryCreateReportAsync"/>): the second writer's copy of the same content counts as
/// restored, other content is kept and refuses the restore before any task is written. The second writer is made to
/// write at a moment between the check and the write: the log when the restore looks for the archive's report (checked
/// after the logs), the report when the restore opens the log to write it (reports are written after the logs).
/// </summary>
public sealed class RestoreBesideASecondWriterTests : IDisposable
{
    private const string LogText = "what the old task did\n";
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogWrittenWithTheArchivesTextAfterTheCheck_CountsAsRestored_AndHoldsTheTextOnce()
    {
        string archive = await ArchiveAsync();
        var fileSystem = new WriteWhenTheReportIsLookedAt(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: fileSystem);
        fileSystem.Arm(_fixture.StatePath, () => Append(service, LogText));

        TaskRestoreResult restored = await TaskArchives.RestoreAsync(service, archive, Ct);

        Assert.True(fileSystem.Wrote);
        Assert.Equal(["old"], restored.Tasks);
        Assert.Equal(LogText, Encoding.UTF8.GetString((await ((IStateBlobStore)service.Store).ReadSessionLogAsync("s1", Ct))!));
    }

    [Fact]
    public async Task ALogWrittenWithOtherTextAfterTheCheck_RefusesTheRestoreNamingIt_NoTaskIsWritten_AndTheLogKeepsOnlyThatText()
    {
        string archive = await ArchiveAsync();
        var fileSystem = new WriteWhenTheReportIsLookedAt(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: fileSystem);
        fileSystem.Arm(_fixture.StatePath, () => Append(service, "a new session s1\n"));

        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(() => TaskArchives.RestoreAsync(service, archive, Ct));

        Assert.True(fileSystem.Wrote);
        Assert.Contains("the log of session 's1' was written with other text while the restore ran", refused.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("old", Ct));
        Assert.Equal("a new session s1\n", Encoding.UTF8.GetString((await ((IStateBlobStore)service.Store).ReadSessionLogAsync("s1", Ct))!));
    }

    [Fact]
    public async Task AReportSavedWithOtherContentAfterTheCheck_IsKept_AndRefusesTheRestoreNamingIt_NoTaskIsWritten()
    {
        string archive = await ArchiveAsync();
        var fileSystem = new WriteWhenTheReportIsLookedAt(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: fileSystem);
        fileSystem.ArmOnTheLogsWrite(_fixture.StatePath, () => ((IStateBlobStore)service.Store)
            .SaveReportAsync("old", """{"summary":"a client's"}"""u8.ToArray(), Durability.Full, Ct).AsTask().GetAwaiter().GetResult());

        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(() => TaskArchives.RestoreAsync(service, archive, Ct));

        Assert.True(fileSystem.Wrote);
        Assert.Contains("report 'old' was saved with other content while the restore ran; it was kept", refused.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("old", Ct));
        Assert.Equal("""{"summary":"a client's"}""", Encoding.UTF8.GetString((await ((IStateBlobStore)service.Store).LoadReportAsync("old", Ct))!));
    }

    /// <summary>Archives task <c>old</c> with its session's log and its report; the archive's name.</summary>
    private async Task<string> ArchiveAsync()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = now.AddDays(-10) }, Ct);
        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "ended", TaskId = "old" }, Ct));
        await service.AppendSessionLogAsync("s1", LogText, Ct);
        await service.SaveReportAsync("old", JsonDocument.Parse("""{"summary":"done"}""").RootElement, Ct);

        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, now, withLogs: true, cancellationToken: Ct);
        Assert.Equal((1, 1), (archived.Logs, archived.Reports));
        Assert.Null(await ((IStateBlobStore)service.Store).ReadSessionLogAsync("s1", Ct));
        return Path.GetFileName(archived.Archive!);
    }

    /// <summary>The second writer: straight to the store, as another process's restore writes the log.</summary>
    private static void Append(StatePersistenceService service, string text) =>
        ((IStateBlobStore)service.Store).AppendSessionLogAsync("s1", Encoding.UTF8.GetBytes(text), Durability.Full, Ct).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Runs an action once: when the report's file is next looked for (the restore's check of the report), or when the
    /// log's file is next opened to be written (the restore's write of the log; its check only looks the file up).
    /// </summary>
    private sealed class WriteWhenTheReportIsLookedAt(IFileSystem inner) : PassThroughFileSystem(inner)
    {
        private (string Path, Action Write)? _onLookup;
        private (string Path, Action Write)? _onOpen;

        public bool Wrote { get; private set; }

        public void Arm(string stateDirectory, Action write) => _onLookup = (new StateLayout(stateDirectory).ReportFile("old"), write);

        public void ArmOnTheLogsWrite(string stateDirectory, Action write) => _onOpen = (new StateLayout(stateDirectory).SessionLogFile("s1"), write);

        public override bool FileExists(string path)
        {
            if (_onLookup is { } armed && path == armed.Path)
            {
                _onLookup = null;
                Run(armed.Write);
            }

            return base.FileExists(path);
        }

        public override IFileHandle Open(string path, FileOpenMode mode)
        {
            if (_onOpen is { } armed && path == armed.Path && mode == FileOpenMode.OpenOrCreate)
            {
                _onOpen = null;
                Run(armed.Write);
            }

            return base.Open(path, mode);
        }

        private void Run(Action write)
        {
            write();
            Wrote = true;
        }
    }
}
