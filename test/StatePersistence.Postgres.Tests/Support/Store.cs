using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Schema;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using ChangeFeed = StatePersistence.Postgres.Changes.ChangeFeed;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>A migrated test schema with the store's group writer and feed, for tests below the store's contract.</summary>
public sealed class Store : IAsyncDisposable
{
    private readonly TestSchema _schema;

    private Store(TestSchema schema)
    {
        _schema = schema;
        // As in the store: the feed builds the writer's own groups from what it committed.
        var rows = new ChangeRows(new StorePayloads(), schema.Name);
        Own = new OwnCommits();
        Writer = new GroupWriter(PostgresServer.DataSource, schema.Name, rows, Own);
        Feed = new ChangeFeed(PostgresServer.DataSource, schema.Name, rows, own: Own);
    }

    internal OwnCommits Own { get; }

    internal GroupWriter Writer { get; }

    internal ChangeFeed Feed { get; }

    public string Schema => _schema.Name;

    public static async Task<Store> CreateAsync(CancellationToken ct, int? schemaNameLength = null)
    {
        TestSchema schema = await PostgresServer.NewSchemaAsync(schemaNameLength);
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, ct);
        return new Store(schema);
    }

    /// <summary>A put of task <paramref name="id"/> whose description is <paramref name="description"/>.</summary>
    public static StateChange Put(string id, ExpectedRevision expected, string description = "d")
    {
        var task = new AgentTask { Id = id, Description = description, Status = "pending" };
        byte[] json = ItemCodec.Serialize(task);
        return new StateChange(ChangeKind.PutTask, id, json, ItemCodec.TaskItem(task, json)) { Expected = expected };
    }

    public static StateChange Delete(string id, ExpectedRevision expected) => new(ChangeKind.DeleteTask, id, null) { Expected = expected };

    /// <summary>Commits one put and requires it committed; returns its revision.</summary>
    public async Task<long> PutAsync(string id, ExpectedRevision expected, string description = "d")
    {
        CommitOutcome outcome = await Writer.AppendAsync([Put(id, expected, description)], Durability.Full, TestContext.Current.CancellationToken);
        Assert.True(outcome.Committed, $"the put of '{id}' conflicted");
        return outcome.Revision;
    }

    /// <summary>A task's revision and description as its row holds them now, or null when it has no row.</summary>
    public async Task<(long Revision, string Description)?> LoadAsync(string id)
    {
        await using Npgsql.NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(
            $"SELECT revision, body->>'description' FROM {Schema}.items WHERE kind = 'task' AND id = $1");
        command.Parameters.AddWithValue(id);
        await using Npgsql.NpgsqlDataReader reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        return await reader.ReadAsync(TestContext.Current.CancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : null;
    }

    public ValueTask DisposeAsync() => _schema.DisposeAsync();
}
