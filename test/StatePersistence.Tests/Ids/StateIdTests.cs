using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Ids;

public sealed class StateIdTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("task_1234567890")]
    [InlineData("abc-DEF_09")]
    [InlineData("0")]
    public void Problem_ForSafeIds_IsNull(string id) => Assert.Null(StateId.Problem(id));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("..", "'.'")]
    [InlineData("../etc/passwd", "dots could form")]
    [InlineData("a/b", "path separator")]
    [InlineData("a\\b", "path separator")]
    [InlineData("a:b", "':'")]
    [InlineData("a*b", "'*'")]
    [InlineData("a\nb", "control character")]
    [InlineData("a\0b", "control character")]
    [InlineData("task.json", "'.'")]
    [InlineData("tâche", "'â'")]
    [InlineData("task_\U0001F600", "'\U0001F600' (U+1F600)")]
    [InlineData("task_\uD83D", "unpaired surrogate")]
    public void Problem_ForUnsafeIds_NamesTheReason(string id, string reason) =>
        Assert.Contains(reason, StateId.Problem(id), StringComparison.Ordinal);

    [Fact]
    public void Problem_ForOverlongId_SaysTheLimit()
    {
        Assert.Null(StateId.Problem(new string('a', StateId.MaxLength)));
        Assert.Contains("at most 128", StateId.Problem(new string('a', StateId.MaxLength + 1)), StringComparison.Ordinal);
    }

    [Fact]
    public void SeedCollisions_AreRejectedNotMerged()
    {
        // The seed's sanitizer turned both of these into "ab"; here only one is a valid id.
        Assert.True(StateId.IsValid("ab"));
        Assert.False(StateId.IsValid("a/b"));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("bad\u0001id")]
    public async Task SaveTask_WithUnsafeId_ThrowsNamingIdAndWritesNothing(string id)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        long before = service.Revision;

        var error = await Assert.ThrowsAsync<InvalidStateIdException>(
            async () => await service.SaveTaskAsync(StateFixture.Task(id), TestContext.Current.CancellationToken));

        Assert.Equal(id, error.Id);
        Assert.Contains(StateId.Quote(id), error.Message, StringComparison.Ordinal);
        Assert.Equal(before, service.Revision);
        Assert.Empty(await service.LoadTasksAsync(TestContext.Current.CancellationToken));
        Assert.False(File.Exists(Path.Combine(_fixture.StatePath, "escape.json")));
        Assert.False(Directory.Exists(Path.Combine(_fixture.StatePath, "tasks", "a")));
    }

    [Fact]
    public async Task UnsafeIds_AreRejectedForSessionsLogsAndReports()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        CancellationToken ct = TestContext.Current.CancellationToken;

        await Assert.ThrowsAsync<InvalidStateIdException>(async () => await service.SaveSessionAsync(new() { Id = "../s" }, ct));
        await Assert.ThrowsAsync<InvalidStateIdException>(async () => await service.AppendSessionLogAsync("../s", "x", ct));
        await Assert.ThrowsAsync<InvalidStateIdException>(async () => await service.SaveReportAsync("a/b", default(System.Text.Json.JsonElement), ct));
        Assert.Empty(Directory.GetFiles(_fixture.File("logs")));
        Assert.Empty(Directory.GetFiles(_fixture.File("reports")));
    }
}
