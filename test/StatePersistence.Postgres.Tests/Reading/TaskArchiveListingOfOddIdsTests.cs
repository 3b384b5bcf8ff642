using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres.Reading;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Retention;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <see cref="PostgresTaskArchiveReader.ListAsync"/> with task ids PostgreSQL cannot be sent (a NUL, which its text
/// cannot hold; a lone UTF-16 surrogate, which Npgsql's strict UTF-8 encoder refuses): no archive holds such an id
/// (archived ids are valid ids, ASCII), so they match none, as a directory's listing (ordinal comparison) answers, and
/// the other ids are still looked up. Before 2026-12-07 the listing failed: a storage failure for the NUL, an
/// EncoderFallbackException for the surrogate.
/// </summary>
public sealed class TaskArchiveListingOfOddIdsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task IdsHoldingANulOrALoneSurrogate_MatchNoArchive_AndTheOtherIdsStillDo()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            await service.SaveTaskAsync(new AgentTask { Id = "done", Description = "d", Status = TaskStatuses.Completed, CompletedAt = DateTimeOffset.UtcNow.AddDays(-40) }, Ct);
            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct);
            Assert.Equal(["done"], archived.Tasks);
        }

        (_, IReadOnlyList<TaskArchiveInfo> none) = await PostgresTaskArchiveReader.ListAsync(PostgresServer.ConnectionString, schema.Name, ["\uD800", "done\0", "x\uDC00"], Ct);
        (_, IReadOnlyList<TaskArchiveInfo> mixed) = await PostgresTaskArchiveReader.ListAsync(PostgresServer.ConnectionString, schema.Name, ["done\uD800", "done"], Ct);

        Assert.Empty(none);
        Assert.Single(mixed);
    }
}
