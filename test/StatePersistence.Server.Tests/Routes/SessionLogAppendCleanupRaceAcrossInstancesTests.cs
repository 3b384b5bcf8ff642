using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Postgres;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <see cref="SessionLogAppendCleanupRaceTests"/> across two instances on one PostgreSQL: instance B creates the
/// session anew, and appends to its log, between instance A's look (the session gone) and A's removal of the log.
/// The removal used to delete B's acknowledged log.
/// </summary>
public sealed class SessionLogAppendCleanupRaceAcrossInstancesTests : IAsyncDisposable
{
    private readonly PostgresSchemaScope _database = new("cleanup");
    private readonly StateServerFactory _server;
    private readonly WebApplicationFactory<Program> _racing;
    private SessionLogAppendCleanupRaceTests.RecreateAfterTheLook? _proxy;

    public SessionLogAppendCleanupRaceAcrossInstancesTests()
    {
        _server = new StateServerFactory(
            ("StatePersistence:Store", "postgres"),
            ("StatePersistence:ConnectionString", PostgresSchemaScope.ConnectionString),
            ("StatePersistence:Schema", _database.Schema));
        _racing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton<IStatePersistence>(sp =>
                (_proxy = SessionLogAppendCleanupRaceTests.RecreateAfterTheLook.Over(sp.GetRequiredService<StatePersistenceService>())).Self);
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _racing.DisposeAsync();
        await _server.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ASessionCreatedAnewOnBBeforeTheCleanupOnA_KeepsItsLog()
    {
        using HttpClient client = _racing.CreateClient();
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresSchemaScope.ConnectionString, _database.Schema, cancellationToken: Ct);
        await (await client.PostJsonAsync("/api/sessions", "{\"id\":\"s1\",\"type\":\"interactive\",\"status\":\"active\"}")).ExpectAsync(HttpStatusCode.Created);
        _proxy!.RecreatesOn = b;
        _proxy.Armed = true;

        HttpStatusCode answer = (await client.PostAsync("/api/sessions/s1/log", Text("racing the delete\n"), Ct)).StatusCode;

        Assert.True(_proxy.Recreated);
        Assert.Equal("new", (await b.LoadLatestSessionAsync("s1", Ct))?.Status);
        Assert.Equal("racing the delete\nnew session\n", await b.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(HttpStatusCode.NoContent, answer);
    }
}
