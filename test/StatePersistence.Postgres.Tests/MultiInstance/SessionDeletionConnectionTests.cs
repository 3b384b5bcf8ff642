using System.Globalization;
using Npgsql;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// A session's deletion keeps a connection of the pool for its hold on the session's log (the advisory lock every
/// instance's appends wait for) and needs another one to delete the log. Many deletions at once must not take every
/// connection with their holds, each then waiting for a connection none gives back until the pool's wait runs out.
/// </summary>
public sealed class SessionDeletionConnectionTests
{
    private const int Sessions = 12;

    [Fact]
    public async Task MoreDeletionsAtOnceThanThePoolHasConnections_AllDeleteTheirSessionAndLog()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var small = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { MaxPoolSize = 4, Timeout = 5 };
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(small.ConnectionString, schema.Name, cancellationToken: ct);
        string[] ids = [.. Enumerable.Range(0, Sessions).Select(i => "s" + i.ToString(CultureInfo.InvariantCulture))];
        foreach (string id in ids)
        {
            await service.SaveSessionAsync(new SessionInfo { Id = id, Status = "active" }, ct);
            await service.AppendSessionLogAsync(id, "text\n", ct);
        }

        bool[] deleted = await Task.WhenAll(ids.Select(id => service.DeleteSessionAsync(id, ct).AsTask()));

        Assert.All(deleted, Assert.True);
        foreach (string id in ids)
        {
            Assert.Null(await service.LoadLatestSessionAsync(id, ct));
            Assert.Null(await service.ReadSessionLogAsync(id, ct));
        }
    }
}
