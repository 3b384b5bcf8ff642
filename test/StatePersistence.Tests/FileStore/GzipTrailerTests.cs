using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Retention;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An export or a task archive cut in its gzip trailer (the last 8 bytes: the CRC-32 and length of what it holds), or
/// with a trailer byte changed, is refused naming the file and what is wrong, before anything is written. .NET's
/// GZipStream ends quietly where the bytes end; before 2026-12-07 both readers took such a file as whole (import and
/// archive restore succeeded) where <c>gzip -t</c> says "unexpected end of file". A listing that reads each archive
/// whole (<see cref="TaskArchives.CheckFiles"/>, <c>statectl archive list --verify</c>) says the same of it; before
/// 2026-12-07 the listing read only the manifest, which such an archive still holds, and showed it as sound.
/// </summary>
public sealed class GzipTrailerTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    /// <summary>Bytes cut from the end (1-8), or a trailer byte flipped ("flip:N", N counted from the trailer's start).</summary>
    public static TheoryData<string> Damages => ["cut:1", "cut:2", "cut:3", "cut:4", "cut:5", "cut:6", "cut:7", "cut:8", "flip:0", "flip:3", "flip:4", "flip:7"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Import_OfAnExportDamagedInItsGzipTrailer_IsRefusedNamingIt_AndWritesNothing(string damage)
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync("file"))
        {
            await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "in the export" }, Ct);
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", "a line of the session log\n", Ct);
        }

        string archive = Path.GetFullPath(_fixture.File("..", "export.tar.gz"));
        StateArchive.Export(_fixture.StatePath, archive, null, null, Ct);
        File.WriteAllBytes(archive, Damaged(File.ReadAllBytes(archive), damage));
        string restored = Path.GetFullPath(_fixture.File("..", "restored"));

        InvalidDataException refused = Assert.Throws<InvalidDataException>(() => StateArchive.Import(archive, restored, null, Ct));

        Assert.True(refused.Message.Contains($"The archive '{archive}' is refused: ", StringComparison.Ordinal), refused.Message);
        Assert.True(refused.Message.Contains(Expected(damage), StringComparison.Ordinal), refused.Message);
        Assert.EndsWith("Nothing was changed.", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(restored));
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Restore_OfATaskArchiveDamagedInItsGzipTrailer_IsRefusedNamingIt_AndRestoresNothing(string damage)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: Ct);
        string file = Path.GetFullPath(_fixture.File("..", "copied.tar.gz"));
        File.WriteAllBytes(file, Damaged(File.ReadAllBytes(archived.Archive!), damage));

        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(() => TaskArchives.RestoreAsync(service, file, Ct));

        Assert.True(refused.Message.Contains($"The archive '{file}' is damaged: ", StringComparison.Ordinal), refused.Message);
        Assert.True(refused.Message.Contains(Expected(damage), StringComparison.Ordinal), refused.Message);
        Assert.EndsWith("Nothing was restored.", refused.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("old", Ct));
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task CheckFiles_OfATaskArchiveDamagedInItsGzipTrailer_SaysSoNamingIt_WhereTheListingOfItsManifestCannot(string damage)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, Ct);
        TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: Ct);
        File.WriteAllBytes(archived.Archive!, Damaged(File.ReadAllBytes(archived.Archive!), damage));

        TaskArchiveInfo listed = Assert.Single(TaskArchives.ListFiles(_fixture.StatePath));
        TaskArchiveInfo checkedWhole = Assert.Single(TaskArchives.CheckFiles(_fixture.StatePath, cancellationToken: Ct));

        // The manifest, at the start of the file, reads: only a read of the whole archive finds its end damaged.
        Assert.Null(listed.Problem);
        Assert.Equal(1, checkedWhole.Tasks);
        Assert.NotNull(checkedWhole.Problem);
        Assert.True(checkedWhole.Problem.Contains($"{Path.GetFileName(archived.Archive)}' is damaged: ", StringComparison.Ordinal), checkedWhole.Problem);
        Assert.True(checkedWhole.Problem.Contains(Expected(damage), StringComparison.Ordinal), checkedWhole.Problem);
    }

    [Fact]
    public async Task CheckFiles_OfASoundTaskArchive_FindsNoProblem()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, Ct);
        await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, cancellationToken: Ct);

        TaskArchiveInfo checkedWhole = Assert.Single(TaskArchives.CheckFiles(_fixture.StatePath, cancellationToken: Ct));

        Assert.Null(checkedWhole.Problem);
        Assert.Equal(1, checkedWhole.Tasks);
    }

    private static byte[] Damaged(byte[] archive, string damage)
    {
        int n = int.Parse(damage[(damage.IndexOf(':', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        if (damage.StartsWith("cut:", StringComparison.Ordinal))
        {
            return archive[..^n];
        }

        byte[] flipped = (byte[])archive.Clone();
        flipped[archive.Length - 8 + n] ^= 0x01;
        return flipped;
    }

    /// <summary>A flipped byte leaves the other half of the trailer in place: damaged; a cut leaves no trailer at the end.</summary>
    private static string Expected(string damage) => damage switch
    {
        "flip:0" or "flip:3" => "its gzip trailer's CRC-32 does not match",
        "flip:4" or "flip:7" => "its gzip trailer's length does not match",
        _ => "it ends before its gzip trailer",
    };
}
