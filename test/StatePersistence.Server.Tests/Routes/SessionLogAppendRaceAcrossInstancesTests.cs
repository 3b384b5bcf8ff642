using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Postgres;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <see cref="SessionLogAppendRaceTests"/> across two instances on one PostgreSQL: the session is deleted on instance
/// B between instance A's check that it exists and A's write. A checked again afterwards against its own state, which
/// learns of B's delete through the feed a moment later, so the text stayed under the deleted session's id.
/// </summary>
public sealed class SessionLogAppendRaceAcrossInstancesTests : IAsyncDisposable
{
    // B's delete reaches A's state within a millisecond or two, so one round could pass by luck; before the check
    // asked the store, nearly every round kept its text.
    private const int Rounds = 20;

    private readonly PostgresSchemaScope _database = new("race");
    private readonly StateServerFactory _server;
    private readonly WebApplicationFactory<Program> _racing;
    private SessionLogAppendRaceTests.DeleteBeforeAppend? _proxy;

    public SessionLogAppendRaceAcrossInstancesTests()
    {
        _server = new StateServerFactory(
            ("StatePersistence:Store", "postgres"),
            ("StatePersistence:ConnectionString", PostgresSchemaScope.ConnectionString),
            ("StatePersistence:Schema", _database.Schema));
        _racing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            // The feed follower and its retries run on the real clock, as they would in production.
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<IStatePersistence>(sp =>
                (_proxy = SessionLogAppendRaceTests.DeleteBeforeAppend.Over(sp.GetRequiredService<StatePersistenceService>())).Self);
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _racing.DisposeAsync();
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task AnAppendOnA_RacingTheSessionsDeleteOnB_Is404_AndLeavesNoLogBehind()
    {
        using HttpClient client = _racing.CreateClient();
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresSchemaScope.ConnectionString, _database.Schema, cancellationToken: Ct);
        _proxy!.DeletesOn = b;

        for (int i = 0; i < Rounds; i++)
        {
            string id = "s" + i.ToString(CultureInfo.InvariantCulture);
            await (await client.PostJsonAsync("/api/sessions", $$"""{"id":"{{id}}","type":"interactive","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
            Assert.NotNull(await b.LoadLatestSessionAsync(id, Ct));
            _proxy.Armed = true;

            await (await client.PostAsync($"/api/sessions/{id}/log", Text("racing the delete\n"), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound);

            _proxy.Armed = false;
            Assert.Null(await b.ReadSessionLogAsync(id, Ct));
        }
    }
}
