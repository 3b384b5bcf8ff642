using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Issue 10 item 6: what is accepted reads back from every file that embeds it, at the boundary.</summary>
public sealed class NestingLimitTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task DeepestAcceptedTask_ReadsBackFromSnapshotBackupAndJournal()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int deepest;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            deepest = await DeepestAcceptedAsync(service, ct);
            Assert.True(deepest >= 62, $"a result nested {deepest} levels deep is the deepest accepted");
            await service.SaveSnapshotAsync(ct);  // in state.json
            await service.SaveTaskAsync(WithResult("other", 1), ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await service.SaveSnapshotAsync(ct);  // the first snapshot becomes a backup
            await service.SaveTaskAsync(WithResult("journal_only", deepest), ct);
            await StateFixture.CrashAsync(service);
        }

        await using (StatePersistenceService reopened = await _fixture.OpenAsync())
        {
            Assert.Empty(reopened.LastRecovery!.Quarantined);
            Assert.Equal(Nested(deepest), (await reopened.LoadTaskAsync("deep", ct))!.Result!.Value.GetRawText());
            Assert.NotNull(await reopened.LoadTaskAsync("journal_only", ct));
            Assert.Equal(3, (await reopened.LoadStateAsync(ct)).Tasks.Count);
        }

        // The backup is read when state.json is unusable: it must not be judged corrupt either.
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{", ct);
        await using StatePersistenceService fromBackup = await _fixture.OpenAsync();
        Assert.Equal(_fixture.File("state.json"), Assert.Single(fromBackup.LastRecovery!.Quarantined).OriginalPath);
        Assert.StartsWith("state.backup.", fromBackup.LastRecovery.SnapshotSource, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskNestedOneLevelBeyondTheLimit_IsRefused_AndNothingIsWritten()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        int deepest = await DeepestAcceptedAsync(service, ct);

        await Assert.ThrowsAnyAsync<Exception>(() => service.SaveTaskAsync(WithResult("too_deep", deepest + 1), ct).AsTask());
        Assert.Null(await service.LoadTaskAsync("too_deep", ct));
    }

    /// <summary>Saves tasks with ever deeper results and returns the deepest the service accepted (kept as "deep").</summary>
    private static async Task<int> DeepestAcceptedAsync(StatePersistenceService service, CancellationToken ct)
    {
        int deepest = 0;
        for (int depth = 60; depth < 80; depth++)
        {
            try
            {
                await service.SaveTaskAsync(WithResult("deep", depth), ct);
                deepest = depth;
            }
            catch (Exception ex) when (ex is StatePersistenceException or JsonException or ArgumentException or InvalidOperationException)
            {
                break;
            }
        }

        return deepest;
    }

    private static AgentTask WithResult(string id, int depth)
    {
        AgentTask task = StateFixture.Task(id, TaskStatuses.Completed);
        using JsonDocument result = JsonDocument.Parse(Nested(depth), new JsonDocumentOptions { MaxDepth = 1000 });
        task.Result = result.RootElement.Clone();
        return task;
    }

    private static string Nested(int depth) => new StringBuilder().Append('[', depth).Append(']', depth).ToString();
}
