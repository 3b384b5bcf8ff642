using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A log append whose session is deleted while it writes (<see cref="SessionLogAppendRaceTests"/>) finds the session
/// gone and removes the log; here the session is created anew, and its log appended to, between that look and the
/// removal. The removal used to delete the new session's acknowledged log.
/// </summary>
public sealed class SessionLogAppendCleanupRaceTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly WebApplicationFactory<Program> _racing;
    private RecreateAfterTheLook? _proxy;

    public SessionLogAppendCleanupRaceTests() =>
        _racing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IStatePersistence>(sp => (_proxy = RecreateAfterTheLook.Over(sp.GetRequiredService<StatePersistenceService>())).Self)));

    public async ValueTask DisposeAsync()
    {
        await _racing.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ASessionCreatedAnewBeforeTheCleanupOfARacingAppend_KeepsItsLog()
    {
        using HttpClient client = _racing.CreateClient();
        await (await client.PostJsonAsync("/api/sessions", "{\"id\":\"s1\",\"type\":\"interactive\",\"status\":\"active\"}")).ExpectAsync(HttpStatusCode.Created);
        _proxy!.Armed = true;

        HttpStatusCode answer = (await client.PostAsync("/api/sessions/s1/log", Text("racing the delete\n"), Ct)).StatusCode;

        Assert.True(_proxy.Recreated);
        StatePersistenceService persistence = _racing.Services.GetRequiredService<StatePersistenceService>();
        Assert.Equal("new", (await persistence.LoadSessionAsync("s1", Ct))?.Status);
        Assert.Equal("racing the delete\nnew session\n", await persistence.ReadSessionLogAsync("s1", Ct));

        // The racing text stays, in the log of the session now under the id: the answer says it was stored.
        Assert.Equal(HttpStatusCode.NoContent, answer);
    }

    /// <summary>
    /// Once armed: the next session log append first deletes its session (a concurrent DELETE); the next look for
    /// the session in the store, the route's check after the append, answers that it is gone, having first had it
    /// created anew and its log appended to (a concurrent POST and append).
    /// </summary>
    public class RecreateAfterTheLook : PersistenceProxy<RecreateAfterTheLook>
    {
        private bool _appended;

        public bool Armed { get; set; }

        public bool Recreated { get; private set; }

        /// <summary>Who creates the session anew and appends: this instance (the default) or another one on the same store.</summary>
        public IStatePersistence? RecreatesOn { get; set; }

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            result = null;
            if (Armed && !_appended && method.Name == nameof(IStatePersistence.AppendSessionLogAsync))
            {
                _appended = true;
                result = new ValueTask(DeleteThenAppendAsync((string)args[0]!, (string)args[1]!));
            }
            else if (_appended && !Recreated && method.Name == nameof(IStatePersistence.LoadLatestSessionAsync))
            {
                result = new ValueTask<SessionInfo?>(LookThenRecreateAsync((string)args[0]!));
            }

            return result is not null;
        }

        private async Task DeleteThenAppendAsync(string sessionId, string text)
        {
            Assert.True(await Inner.DeleteSessionAsync(sessionId));
            await Inner.AppendSessionLogAsync(sessionId, text);
        }

        private async Task<SessionInfo?> LookThenRecreateAsync(string sessionId)
        {
            SessionInfo? seen = await Inner.LoadLatestSessionAsync(sessionId);
            Assert.Null(seen);
            IStatePersistence creator = RecreatesOn ?? Inner;
            Assert.Null(await creator.LoadLatestSessionAsync(sessionId));
            Assert.True(await creator.CreateSessionAsync(new SessionInfo { Id = sessionId, Type = "interactive", Status = "new" }));
            await creator.AppendSessionLogAsync(sessionId, "new session\n");
            Recreated = true;
            return seen;
        }
    }
}
