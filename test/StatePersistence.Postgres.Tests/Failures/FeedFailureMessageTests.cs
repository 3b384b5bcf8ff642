using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A failure of the background change feed (the follower reading the other instances' changes) as an operator reads
/// it in the log, the metrics and the <c>StateSaveError</c> event: it names the store (hosts, database, schema) and
/// what the feed was doing, with PostgreSQL's own error inside. It was Npgsql's bare message ("42P01: relation ... does
/// not exist"), which names neither the store nor the position.
/// </summary>
public sealed class FeedFailureMessageTests : IDisposable
{
    private const string Password = "s3cret-of-the-feed";
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task TheChangesTableRenamedUnderARunningInstance_IsLoggedCountedAndRaised_NamingTheStoreAndThePosition_NotThePassword()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        // The test cluster trusts local logins: the password is never checked, only carried, as a real one would be.
        string connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Password = Password }.ConnectionString;
        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        using var failures = new MetricCollector<long>(_meters.GetRequiredService<IMeterFactory>(), StateMeter.Name, "statepersistence.save.failures");
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(connectionString, schema.Name,
            loggerFactory: loggers, meterFactory: _meters.GetRequiredService<IMeterFactory>(), cancellationToken: Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "one", Description = "1", Status = "pending" }, Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "two", Description = "2", Status = "pending" }, Ct);
        await service.CatchUpWithFeedAsync(Ct); // the follower has applied position 2, the feed's head
        var reported = new TaskCompletionSource<StateSaveErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.StateSaveError += (_, e) =>
        {
            if (e.Operation == "follow-changes")
            {
                reported.TrySetResult(e);
            }
        };

        string location = $"postgresql://127.0.0.1:{new NpgsqlConnectionStringBuilder(connectionString).Port}/postgres#{schema.Name}";
        await ExecuteAsync($"ALTER TABLE {schema.Name}.changes RENAME TO changes_moved_away", Ct);
        StateSaveErrorEventArgs failure;
        try
        {
            failure = await reported.Task.WaitAsync(TimeSpan.FromMinutes(1), Ct);
        }
        finally
        {
            await ExecuteAsync($"ALTER TABLE {schema.Name}.changes_moved_away RENAME TO changes", Ct);
        }

        StateStorageException error = Assert.IsType<StateStorageException>(failure.Error);
        Assert.Equal($"The store '{location}' could not read the change feed after position 2: 42P01: relation \"{schema.Name}.changes\" does not exist",
            error.Message);
        Assert.Equal(location, error.Path);
        Assert.Equal("42P01", Assert.IsType<PostgresException>(error.InnerException).SqlState);
        Assert.False(error.IsTransient); // PostgreSQL refused the statement: retried, but nothing to wait out

        // A failed read of the feed, not a failed save (it was event 5, "Saving failed (follow-changes)").
        FakeLogRecord logged = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 83 && r.Exception == error);
        Assert.Equal($"Reading the change feed failed (follow-changes) at {location}", logged.Message);
        Assert.Contains(failures.GetMeasurementSnapshot(), m => Equals(m.Tags["kind"], "follow-changes"));
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains(Password, StringComparison.Ordinal)
            || (r.Exception?.ToString().Contains(Password, StringComparison.Ordinal) ?? false));
    }
}
