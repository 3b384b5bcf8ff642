using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Schema;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>A migrated test schema with its writer and feed.</summary>
public sealed class Store : IAsyncDisposable
{
    private readonly TestSchema _schema;

    private Store(TestSchema schema)
    {
        _schema = schema;
        Writer = new ChangeWriter(PostgresServer.DataSource, schema.Name);
        Feed = new ChangeFeed(PostgresServer.DataSource, schema.Name);
    }

    internal ChangeWriter Writer { get; }

    internal ChangeFeed Feed { get; }

    public string Schema => _schema.Name;

    public static async Task<Store> CreateAsync(CancellationToken ct)
    {
        TestSchema schema = await PostgresServer.NewSchemaAsync();
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, ct);
        return new Store(schema);
    }

    internal static ItemWrite Put(string id, ExpectedRevision expected, string body = """{"v":1}""") => new("task", id, expected, body);

    internal static ItemWrite Delete(string id, ExpectedRevision expected) => new("task", id, expected, null);

    internal async Task<long> PutAsync(string id, ExpectedRevision expected, string body = """{"v":1}""")
    {
        WriteOutcome outcome = await Writer.AppendAsync([Put(id, expected, body)], TestContext.Current.CancellationToken);
        Assert.True(outcome.Committed, $"the put of '{id}' conflicted");
        return outcome.Revisions[0];
    }

    public ValueTask DisposeAsync() => _schema.DisposeAsync();
}
