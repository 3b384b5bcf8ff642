using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A session log append is durable before the check after it (whether a <c>DELETE</c> of the session landed meanwhile)
/// asks the store; that check failing, forced here, was answered 503 "nothing of this request was stored", and a client
/// that retried appended the text twice. The check also waited on <c>CancellationToken.None</c>, unbounded.
/// </summary>
public sealed class SessionLogAppendCheckFailureTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly WebApplicationFactory<Program> _failing;
    private FailingCheck? _proxy;

    public SessionLogAppendCheckFailureTests() =>
        _failing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IStatePersistence>(sp => (_proxy = FailingCheck.Over(sp.GetRequiredService<StatePersistenceService>())).Self)));

    public async ValueTask DisposeAsync()
    {
        await _failing.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ACheckThatFailsAfterTheAppend_SaysTheTextWasAppended_NotThatNothingWasStored()
    {
        using HttpClient client = _failing.CreateClient();
        await (await client.PostJsonAsync("/api/sessions", "{\"id\":\"s1\",\"type\":\"interactive\",\"status\":\"active\"}")).ExpectAsync(HttpStatusCode.Created);
        _proxy!.Armed = true;

        var problem = await (await client.PostAsync("/api/sessions/s1/log", Text("once\n"), Ct)).ExpectProblemAsync(HttpStatusCode.InternalServerError);

        Assert.Contains("was appended", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("do not send it again", problem.Str("detail"), StringComparison.Ordinal);
        Assert.DoesNotContain("nothing of this request was stored", problem.Str("detail"), StringComparison.OrdinalIgnoreCase);
        Assert.False(string.IsNullOrEmpty(problem.Str("correlation_id")));
        Assert.Equal("once\n", await _failing.Services.GetRequiredService<StatePersistenceService>().ReadSessionLogAsync("s1", Ct));
        // The check's wait ends with the request, not never.
        Assert.True(_proxy.CheckCouldBeCancelled);
    }

    /// <summary>An <see cref="IStatePersistence"/> whose look at the store's latest session fails, once armed.</summary>
    public class FailingCheck : PersistenceProxy<FailingCheck>
    {
        public bool Armed { get; set; }

        /// <summary>Whether the token the failed check was given could end its wait.</summary>
        public bool CheckCouldBeCancelled { get; private set; }

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            result = null;
            if (!Armed || method.Name != nameof(IStatePersistence.LoadLatestSessionAsync))
            {
                return false;
            }

            CheckCouldBeCancelled = args[1] is CancellationToken { CanBeCanceled: true };
            result = ValueTask.FromException<SessionInfo?>(new StateStorageException("The database did not answer.", null, null));
            return true;
        }
    }
}
