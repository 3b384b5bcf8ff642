using System.Text;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// The task archive capability (<see cref="ITaskArchiveStore"/>): an archive written under a name is kept durably and
/// read back byte for byte (after a restart too), never replaced by a second write of that name, listed in ordinal
/// order with its size and task count, found by any task it holds; what an archive took along is removed (a session log with every part, a report) only while it is what the archive took;
/// a name that is not an archive's file name is refused. A store that keeps no archives is an explicit skip.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class TaskArchiveConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>Written once under a name, read back byte for byte after a restart, listed in order, found by its tasks.</summary>
    [Fact]
    public async Task AnArchive_IsKeptAsWritten_NeverReplaced_AndFoundByItsTasks_AfterARestartToo()
    {
        byte[] first = Archive("t1", "t2");
        byte[] other = Archive("t3");
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            Assert.True(await archives.TryWriteTaskArchiveAsync("tasks.20260101T000000Z.tar.gz", first, ["t1", "t2"], null, Ct));
            Assert.False(await archives.TryWriteTaskArchiveAsync("tasks.20260101T000000Z.tar.gz", other, ["t3"], null, Ct));
            Assert.True(await archives.TryWriteTaskArchiveAsync("tasks.20250101T000000Z.tar.gz", other, ["t3"], null, Ct));
            Assert.Equal(first, await archives.ReadTaskArchiveAsync("tasks.20260101T000000Z.tar.gz", Ct));
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            ITaskArchiveStore archives = RequireArchives(reopened);
            IReadOnlyList<TaskArchiveInfo> listed = await archives.ListTaskArchivesAsync(Ct);
            Assert.Equal(["tasks.20250101T000000Z.tar.gz", "tasks.20260101T000000Z.tar.gz"], listed.Select(a => a.Name));
            Assert.Equal([other.Length, first.Length], listed.Select(a => a.Bytes));
            Assert.Equal([1, 2], listed.Select(a => a.Tasks));
            Assert.All(listed, a => Assert.NotNull(a.CreatedAt));
            Assert.Equal(first, await archives.ReadTaskArchiveAsync("tasks.20260101T000000Z.tar.gz", Ct));
            Assert.Equal(other, await archives.ReadTaskArchiveAsync("tasks.20250101T000000Z.tar.gz", Ct));
            Assert.Null(await archives.ReadTaskArchiveAsync("tasks.20240101T000000Z.tar.gz", Ct));
            Assert.Contains("tasks.20260101T000000Z.tar.gz", await archives.FindTaskArchivesAsync(["t2", "nowhere"], Ct));
            Assert.DoesNotContain("tasks.20260101T000000Z.tar.gz", await archives.FindTaskArchivesAsync(["t3"], Ct));
            Assert.Contains("tasks.20250101T000000Z.tar.gz", await archives.FindTaskArchivesAsync(["t3"], Ct));
            Assert.Contains("tasks.20260101T000000Z.tar.gz", archives.DescribeTaskArchive("tasks.20260101T000000Z.tar.gz"), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A session log (every append) and a report an archive took along are removed while they are what it took; the
    /// others stay. One that is gone already is not live afterwards either; the log's unconditional removal removes any.
    /// </summary>
    [Fact]
    public async Task WhatAnArchiveTookAlong_IsRemoved_TheRestKept()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            var blobs = (IStateBlobStore)store;
            await blobs.AppendSessionLogAsync("s1", "first\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s1", "second\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s2", "kept\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s3", "removed whatever it holds\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r1", """{"task_id":"t1"}"""u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r2", """{"task_id":"t2"}"""u8.ToArray(), Durability.Full, Ct);
            byte[] log = (await blobs.ReadSessionLogAsync("s1", Ct))!;
            byte[] report = (await blobs.LoadReportAsync("r1", Ct))!;

            Assert.True(await archives.RemoveSessionLogIfUnchangedAsync("s1", log, Ct));
            Assert.True(await archives.RemoveReportIfUnchangedAsync("r1", report, Ct));
            await archives.RemoveSessionLogAsync("s3", Ct);

            Assert.True(await blobs.ReadSessionLogAsync("s1", Ct) is null or { Length: 0 });
            Assert.True(await blobs.ReadSessionLogAsync("s3", Ct) is null or { Length: 0 });
            Assert.Equal("kept\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s2", Ct))!));
            Assert.Null(await blobs.LoadReportAsync("r1", Ct));
            Assert.NotNull(await blobs.LoadReportAsync("r2", Ct));
            Assert.True(await archives.RemoveSessionLogIfUnchangedAsync("s1", log, Ct));
            Assert.True(await archives.RemoveReportIfUnchangedAsync("r1", report, Ct));
            // A log begun again after its removal starts empty.
            await blobs.AppendSessionLogAsync("s1", "again\n"u8.ToArray(), Durability.Full, Ct);
            Assert.Equal("again\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
        }
    }

    /// <summary>
    /// A log appended to, or a report saved again, after an archive read it is not what the archive holds: it is kept,
    /// whole, and the removal says so; what it holds now is what a removal then compares.
    /// </summary>
    [Fact]
    public async Task ALogOrReportWrittenAfterTheArchiveReadIt_IsKeptWhole()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            var blobs = (IStateBlobStore)store;
            await blobs.AppendSessionLogAsync("s1", "archived\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r1", """{"task_id":"t1","v":1}"""u8.ToArray(), Durability.Full, Ct);
            byte[] log = (await blobs.ReadSessionLogAsync("s1", Ct))!;
            byte[] report = (await blobs.LoadReportAsync("r1", Ct))!;
            await blobs.AppendSessionLogAsync("s1", "written since\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r1", """{"task_id":"t1","v":2}"""u8.ToArray(), Durability.Full, Ct);

            Assert.False(await archives.RemoveSessionLogIfUnchangedAsync("s1", log, Ct));
            Assert.False(await archives.RemoveReportIfUnchangedAsync("r1", report, Ct));

            Assert.Equal("archived\nwritten since\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
            Assert.Equal("""{"task_id":"t1","v":2}""", Encoding.UTF8.GetString((await blobs.LoadReportAsync("r1", Ct))!));
            Assert.True(await archives.RemoveSessionLogIfUnchangedAsync("s1", "archived\nwritten since\n"u8.ToArray(), Ct));
            Assert.True(await archives.RemoveReportIfUnchangedAsync("r1", """{"task_id":"t1","v":2}"""u8.ToArray(), Ct));
            Assert.True(await blobs.ReadSessionLogAsync("s1", Ct) is null or { Length: 0 });
            Assert.Null(await blobs.LoadReportAsync("r1", Ct));
        }
    }

    /// <summary>
    /// Appends racing a conditional removal of their log are never lost: afterwards every acknowledged append is in the
    /// copy the removal compared (when it removed) or in the live log, in order, exactly once. The race is not timed;
    /// whichever way each round falls, this must hold.
    /// </summary>
    [Fact]
    public async Task AppendsRacingTheRemovalOfTheirLog_AreNeverLost()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            var blobs = (IStateBlobStore)store;
            for (int round = 0; round < 20; round++)
            {
                string sessionId = $"race{round}";
                await blobs.AppendSessionLogAsync(sessionId, "archived\n"u8.ToArray(), Durability.Full, Ct);
                byte[] archived = (await blobs.ReadSessionLogAsync(sessionId, Ct))!;
                string[] late = [.. Enumerable.Range(1, 5).Select(i => $"late {i}\n")];
                Task appends = Task.Run(async () =>
                {
                    foreach (string line in late)
                    {
                        await blobs.AppendSessionLogAsync(sessionId, Encoding.UTF8.GetBytes(line), Durability.Full, Ct);
                    }
                }, Ct);

                bool removed = await archives.RemoveSessionLogIfUnchangedAsync(sessionId, archived, Ct);
                await appends;

                string live = Encoding.UTF8.GetString(await blobs.ReadSessionLogAsync(sessionId, Ct) ?? []);
                Assert.Equal("archived\n" + string.Concat(late), (removed ? "archived\n" : "") + live);
            }
        }
    }

    /// <summary>A name that is a path, or not an archive's, is refused for a write and a read, and nothing is written.</summary>
    /// <param name="name">The name refused.</param>
    [Theory]
    [InlineData("../tasks.20260101T000000Z.tar.gz")]
    [InlineData("sub/tasks.20260101T000000Z.tar.gz")]
    [InlineData("tasks.20260101T000000Z.json")]
    [InlineData("")]
    public async Task ANameThatIsNotAnArchivesFileName_IsRefused(string name)
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            await Assert.ThrowsAsync<ArgumentException>(async () => await archives.TryWriteTaskArchiveAsync(name, Archive("t1"), ["t1"], null, Ct));
            await Assert.ThrowsAsync<ArgumentException>(async () => await archives.ReadTaskArchiveAsync(name, Ct));
            Assert.Empty(await archives.ListTaskArchivesAsync(Ct));
        }
    }

    /// <summary>
    /// The archive lock is had by one run at a time: a second waits until the first is disposed (a wait cancelled
    /// throws and takes nothing), and the lock is free again after both.
    /// </summary>
    [Fact]
    public async Task TheArchiveLock_IsHadByOneRunAtATime()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            ITaskArchiveStore archives = RequireArchives(store);
            IAsyncDisposable first = await archives.AcquireTaskArchiveLockAsync(Ct);
            Task<IAsyncDisposable> second = archives.AcquireTaskArchiveLockAsync(Ct).AsTask();
            using (var cancelled = CancellationTokenSource.CreateLinkedTokenSource(Ct))
            {
                Task<IAsyncDisposable> abandoned = archives.AcquireTaskArchiveLockAsync(cancelled.Token).AsTask();
                // Not a measure of speed: a lock that let a second holder in would have done so long before this.
                await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
                Assert.False(second.IsCompleted, "a second run had the archive lock while the first held it");
                Assert.False(abandoned.IsCompleted, "a third run had the archive lock while the first held it");
                await cancelled.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            }

            await first.DisposeAsync();
            await first.DisposeAsync(); // a second dispose releases nothing more
            IAsyncDisposable next = await second.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            Task<IAsyncDisposable> third = archives.AcquireTaskArchiveLockAsync(Ct).AsTask();
            await Task.Delay(TimeSpan.FromMilliseconds(100), Ct);
            Assert.False(third.IsCompleted, "a run had the archive lock while the one after the first held it");
            await next.DisposeAsync();
            await (await third.WaitAsync(TimeSpan.FromSeconds(30), Ct)).DisposeAsync();
        }
    }

    /// <summary>A real archive (a manifest listing <paramref name="taskIds"/>, one entry each), as the archiver writes it.</summary>
    private static byte[] Archive(params string[] taskIds)
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var manifest = new TaskArchiveManifest(TaskArchiveManifest.FormatName, TaskArchiveManifest.CurrentVersion, now, now, false,
            [.. taskIds.Select(id => new ArchivedTask(id, "completed", 1, "completed_at", now, [], []))], []);
        using var buffer = new MemoryStream();
        TaskArchiveFile.Write(buffer, manifest, [.. taskIds.Select(id => (TaskArchiveManifest.TaskEntry(id), Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}""")))]);
        return buffer.ToArray();
    }

    private static ITaskArchiveStore RequireArchives(IStateStore store)
    {
        if (store is not ITaskArchiveStore archives || store is not IStateBlobStore)
        {
            Assert.Skip($"{store.GetType().Name} keeps no task archives (it does not implement ITaskArchiveStore): TaskArchiveAfter is a warning at start there.");
            throw new InvalidOperationException("unreachable: Assert.Skip throws");
        }

        return archives;
    }
}
