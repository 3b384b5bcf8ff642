using System.Net;
using Npgsql;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// At the <c>MaxReports</c> limit, a report saved again under an id whose stored row is damaged replaces it (201), as a
/// save of any existing id does: the quota check's load of that report fails on PostgreSQL, and the failure is taken as
/// "the id exists". It answered 500 before.
/// </summary>
public sealed class DamagedReportQuotaTests
{
    [Fact]
    public async Task OnPostgres_AtTheLimit_ADamagedReportIsReplaced()
    {
        await using var database = new PostgresSchemaScope("dmgquota");
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            [.. database.ServerArguments, "--StatePersistence:Server:Quotas:MaxReports", "1"]);
        await (await server.Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":1}""")).ExpectAsync(HttpStatusCode.Created);
        await using (NpgsqlDataSource source = NpgsqlDataSource.Create(PostgresSchemaScope.ConnectionString))
        await using (NpgsqlCommand damage = source.CreateCommand(
            $"UPDATE {database.Schema}.reports SET payload = set_byte(payload, length(payload) - 3, get_byte(payload, length(payload) - 3) # 1)"))
        {
            Assert.Equal(1, await damage.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        await (await server.Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":2}""")).ExpectAsync(HttpStatusCode.Created);
        await (await server.Client.PostJsonAsync("/api/reports", """{"id":"r2","type":"t","data":1}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
    }
}
