using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// What a task or session holds that cannot be stored is refused with a validation error naming the item and the
/// field, and nothing is written: a null log entry was stored and then made every later update of the task throw a
/// NullReferenceException, and a string System.Text.Json cannot write came out as a bare ArgumentException.
/// </summary>
public sealed class ItemContentValidationTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ANullLogEntry_IsRefusedNamingIt_OnEveryWayATaskIsWrittenWhole()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        AgentTask withNull = StateFixture.Task("t2");
        withNull.Logs = [new TaskLogEntry { Message = "first" }, null!];

        var saved = await Assert.ThrowsAsync<StateValidationException>(() => service.SaveTaskAsync(withNull, Ct).AsTask());
        Assert.Equal("logs[1]", saved.Field);
        Assert.Contains("'t2'", saved.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StateValidationException>(() => service.CreateTaskAsync(withNull, Ct).AsTask());
        await Assert.ThrowsAsync<StateValidationException>(() => service.ReplaceTaskAsync(withNull, Ct).AsTask());
        await Assert.ThrowsAsync<StateValidationException>(() => service.UpdateTaskAsync("t1", t => t.Logs = [null!], Ct).AsTask());
        PersistedState state = await service.LoadStateAsync(Ct);
        state.Tasks.Add(withNull);
        await Assert.ThrowsAsync<StateValidationException>(() => service.SaveStateAsync(state, Ct).AsTask());

        Assert.Null(await service.LoadTaskAsync("t2", Ct));
        Assert.All((await service.LoadTaskAsync("t1", Ct))!.Logs ?? [], entry => Assert.NotNull(entry));
        Assert.NotNull(await service.UpdateTaskAsync("t1", t => t.Status = TaskStatuses.InProgress, Ct));
    }

    [Fact]
    public async Task AStringTooLongForJson_IsAValidationErrorNamingTheTask_NotABareArgumentException()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        AgentTask huge = StateFixture.Task("huge");
        huge.Description = new string('x', 170_000_000); // past what System.Text.Json writes (about 166 million)

        var error = await Assert.ThrowsAsync<StateValidationException>(() => service.SaveTaskAsync(huge, Ct).AsTask());

        Assert.Equal("task", error.Field);
        Assert.Contains("'huge'", error.Message, StringComparison.Ordinal);
        Assert.Null(await service.LoadTaskAsync("huge", Ct));
    }
}
