using Npgsql;
using StatePersistence.Postgres;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// A server stopped (SIGTERM, as a service manager stops one) while its start still waits on the database: here a
/// table of the schema locked by another session, as an upgrade another instance runs holds it. It aborted with an
/// unhandled <c>OperationCanceledException</c> and its stack trace (exit 134).
/// </summary>
public sealed class StopWhileStartingTests
{
    [Fact]
    public async Task ASigtermWhileTheStartWaitsOnTheDatabase_EndsTheServerCleanly()
    {
        await using var database = new PostgresSchemaScope("stopstart");
        await (await PostgresStatePersistence.OpenAsync(PostgresSchemaScope.ConnectionString, database.Schema, cancellationToken: Ct)).DisposeAsync();
        await using NpgsqlDataSource source = NpgsqlDataSource.Create(PostgresSchemaScope.ConnectionString);
        await using NpgsqlConnection holder = await source.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction locked = await holder.BeginTransactionAsync(Ct);
        await using (var lockTables = new NpgsqlCommand($"LOCK TABLE {database.Schema}.schema_version, {database.Schema}.items IN ACCESS EXCLUSIVE MODE", holder, locked))
        {
            await lockTables.ExecuteNonQueryAsync(Ct);
        }

        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(), database.ServerArguments);
        await UntilTheServerWaitsOnALockAsync(source, server, database.Schema);
        int exitCode = await server.TerminateAsync();

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{server.Output}");
        Assert.Contains("statepersistence-server: stopped before the start finished", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    /// <summary>Until a backend of the server's waits on a lock (bounded: 60 s, for a process on a loaded machine).</summary>
    private static async Task UntilTheServerWaitsOnALockAsync(NpgsqlDataSource source, ServerProcess server, string schema)
    {
        for (int attempt = 0; attempt < 600; attempt++)
        {
            await using NpgsqlCommand waiting = source.CreateCommand(
                $"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'StatePersistence.Server' AND wait_event_type = 'Lock' AND query LIKE '%{schema}%'");
            if ((long)(await waiting.ExecuteScalarAsync(Ct))! > 0)
            {
                return;
            }

            Assert.False(server.HasExited, $"the server ended before it waited:\n{server.Output}");
            await Task.Delay(100, Ct);
        }

        Assert.Fail($"the server never waited on the lock:\n{server.Output}");
    }
}
