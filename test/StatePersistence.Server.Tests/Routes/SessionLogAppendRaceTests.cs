using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A <c>DELETE /api/sessions/{id}</c> landing between a log append's check that the session exists and its write,
/// forced here: the append's write first deletes the session, as a concurrent DELETE would. The append used to write a
/// new log for the deleted session, which a later session with the same id then continued.
/// </summary>
public sealed class SessionLogAppendRaceTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly WebApplicationFactory<Program> _racing;
    private DeleteBeforeAppend? _proxy;

    public SessionLogAppendRaceTests() =>
        _racing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IStatePersistence>(sp => (_proxy = DeleteBeforeAppend.Over(sp.GetRequiredService<StatePersistenceService>())).Self)));

    public async ValueTask DisposeAsync()
    {
        await _racing.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task AnAppendRacingTheSessionsDelete_Is404_AndLeavesNoLogBehind()
    {
        using HttpClient client = _racing.CreateClient();
        await (await client.PostJsonAsync("/api/sessions", "{\"id\":\"s1\",\"type\":\"interactive\",\"status\":\"active\"}")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/sessions/s1/log", Text("before\n"), Ct)).StatusCode);
        _proxy!.Armed = true;

        await (await client.PostAsync("/api/sessions/s1/log", Text("racing the delete\n"), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound);

        StatePersistenceService persistence = _racing.Services.GetRequiredService<StatePersistenceService>();
        Assert.Null(await persistence.LoadSessionAsync("s1", Ct));
        Assert.Null(await persistence.ReadSessionLogAsync("s1", Ct));
    }

    /// <summary>An <see cref="IStatePersistence"/> whose session log append, once armed, first deletes the session.</summary>
    public class DeleteBeforeAppend : PersistenceProxy<DeleteBeforeAppend>
    {
        /// <summary>Whether the next appends delete their session first.</summary>
        public bool Armed { get; set; }

        /// <summary>Who deletes the session: this instance (the default) or another one on the same store.</summary>
        public IStatePersistence? DeletesOn { get; set; }

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            result = Armed && method.Name == nameof(IStatePersistence.AppendSessionLogAsync)
                ? new ValueTask(DeleteThenAppendAsync((string)args[0]!, (string)args[1]!))
                : null;
            return result is not null;
        }

        private async Task DeleteThenAppendAsync(string sessionId, string text)
        {
            Assert.True(await (DeletesOn ?? Inner).DeleteSessionAsync(sessionId));
            await Inner.AppendSessionLogAsync(sessionId, text);
        }
    }
}
