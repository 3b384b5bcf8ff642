using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// The library's read of a store's tasks without opening one (<see cref="PostgresTaskReader"/>): every task in id order
/// (ordinal, whatever the database's collation), each as an instance serves it, or one task by id.
/// </summary>
public sealed class PostgresTaskReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReadAsync_GivesEveryTaskInOrdinalIdOrder_OrOneById()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: false);
        await using (service)
        {
            // Ordinal order puts upper case and digits before lower case, which a linguistic collation would not.
            foreach (string id in new[] { "b-task", "a-task", "B-task", "9-task" })
            {
                await service.SaveTaskAsync(new AgentTask { Id = id, Description = $"about {id}" }, Ct);
            }

            PostgresTaskRead all = await PostgresTaskReader.ReadAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
            PostgresTaskRead one = await PostgresTaskReader.ReadAsync(PostgresServer.ConnectionString, schema.Name, id: "a-task", cancellationToken: Ct);
            PostgresTaskRead none = await PostgresTaskReader.ReadAsync(PostgresServer.ConnectionString, schema.Name, id: "z-task", cancellationToken: Ct);

            Assert.Equal(["9-task", "B-task", "a-task", "b-task"], all.Tasks.Select(t => t.Id));
            Assert.Equal(service.Revision, all.Revision);
            foreach (Commit.StoredItem task in all.Tasks)
            {
                Assert.Equal((await service.LoadTaskAsync(task.Id, Ct))!.Revision, task.Revision);
            }

            Assert.Equal("a-task", Assert.Single(one.Tasks).Id);
            Assert.Empty(none.Tasks);
            Assert.Empty(all.Problems);
        }
    }
}
