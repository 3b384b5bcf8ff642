using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Hosting;

public sealed class RegistrationTests
{
    [Fact]
    public async Task UsePostgres_ServiceKeepsTasksAcrossRestart_AndRefusesAStaleRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        long revision;
        await using (ServiceProvider first = Provider(schema.Name))
        {
            IStatePersistence persistence = first.GetRequiredService<IStatePersistence>();
            await persistence.StartAsync(ct);
            Assert.True(await persistence.CreateTaskAsync(new AgentTask { Id = "t1", Description = "first", Status = "pending" }, ct));
            revision = (await persistence.LoadTaskAsync("t1", ct))!.Revision;

            StateConflictException conflict = await Assert.ThrowsAsync<StateConflictException>(async () =>
                await persistence.UpdateTaskAsync("t1", t => t.Description = "stale", ExpectedRevision.Exactly(revision + 5), ct));
            Assert.Contains("t1", conflict.Message, StringComparison.Ordinal);
            await persistence.AppendSessionLogAsync("s1", "line\n", ct);
        }

        await using ServiceProvider second = Provider(schema.Name);
        IStatePersistence reopened = second.GetRequiredService<IStatePersistence>();
        await reopened.StartAsync(ct);
        AgentTask task = (await reopened.LoadTaskAsync("t1", ct))!;
        Assert.Equal(("first", revision), (task.Description, task.Revision));
        Assert.Equal("line\n", await reopened.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task Factory_OpensTheServiceOverPostgres_AndAReopenFindsWhatWasSaved()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct))
        {
            await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "saved", Status = "pending" }, ct);
            await service.UpdateTaskAsync("t1", t => t.Status = "running", ct);
        }

        await using StatePersistenceService again = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        AgentTask task = Assert.Single(await again.LoadTasksAsync(ct));
        Assert.Equal(("saved", "running"), (task.Description, task.Status));
    }

    [Theory]
    [InlineData("Bad-Name")]
    [InlineData("x; DROP TABLE y")]
    public void UsePostgres_WithAnUnsafeSchemaName_IsRefusedAtRegistration_NamingIt(string name)
    {
        var services = new ServiceCollection();
        ArgumentException error = Assert.Throws<ArgumentException>(() => services.AddStatePersistence().UsePostgres(PostgresServer.ConnectionString, name));
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Location_NamesHostDatabaseAndSchema_NeverThePassword()
    {
        await using var store = new PostgresStateStore("Host=db.example;Port=5433;Database=app;Username=agent;Password=hunter2-secret", "tenant_a");
        Assert.Equal("postgresql://db.example:5433/app#tenant_a", store.Location);
        Assert.DoesNotContain("hunter2", store.Location, StringComparison.Ordinal);
        Assert.DoesNotContain("agent", store.Location, StringComparison.Ordinal);
    }

    /// <summary>
    /// A store built from a connection string has Npgsql prepare the statements it runs often, unless the string says
    /// how many itself (none included); the store then works as any other (a save and a reopen).
    /// </summary>
    [Fact]
    public async Task AConnectionString_GetsAutomaticPreparation_UnlessItSetsItsOwn()
    {
        await using (NpgsqlDataSource plain = PostgresStateStore.CreateDataSource(PostgresServer.ConnectionString))
        await using (NpgsqlDataSource own = PostgresStateStore.CreateDataSource(PostgresServer.ConnectionString + ";Max Auto Prepare=0"))
        {
            Assert.Equal(PostgresStateStore.AutoPreparedStatements, new NpgsqlConnectionStringBuilder(plain.ConnectionString).MaxAutoPrepare);
            Assert.Equal(0, new NpgsqlConnectionStringBuilder(own.ConnectionString).MaxAutoPrepare);
            Assert.False(new NpgsqlConnectionStringBuilder(plain.ConnectionString).NoResetOnClose);
        }

        // The writer's pool prepares the same way and skips the reset (WriterSessionTests shows it has nothing to reset).
        await using (NpgsqlDataSource writer = PostgresStateStore.CreateWriterDataSource(PostgresServer.ConnectionString))
        await using (NpgsqlDataSource ownWriter = PostgresStateStore.CreateWriterDataSource(PostgresServer.ConnectionString + ";Max Auto Prepare=0"))
        {
            Assert.Equal(PostgresStateStore.AutoPreparedStatements, new NpgsqlConnectionStringBuilder(writer.ConnectionString).MaxAutoPrepare);
            Assert.True(new NpgsqlConnectionStringBuilder(writer.ConnectionString).NoResetOnClose);
            Assert.Equal(0, new NpgsqlConnectionStringBuilder(ownWriter.ConnectionString).MaxAutoPrepare);
        }

        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct))
        {
            // More saves than Npgsql's threshold for preparing a statement, so the prepared ones run too.
            for (int i = 0; i < 12; i++)
            {
                await service.SaveTaskAsync(new AgentTask { Id = "prepared", Description = "save " + i }, ct);
            }
        }

        await using StatePersistenceService reopened = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        Assert.Equal("save 11", (await reopened.LoadTaskAsync("prepared", ct))!.Description);
    }

    private static ServiceProvider Provider(string schema)
    {
        var services = new ServiceCollection();
        services.AddStatePersistence().UsePostgres(PostgresServer.ConnectionString, schema);
        return services.BuildServiceProvider();
    }
}
