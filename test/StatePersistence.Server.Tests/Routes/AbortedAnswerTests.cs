using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StatePersistence.Errors;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Storage;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A session log or the state whose read fails after the answer's headers and first bytes were sent: the answer is
/// aborted, and the failure is logged and counted in <c>statepersistence_requests_refused_total</c>
/// (<c>reason="aborted_mid_answer"</c>, <c>status</c> the one the headers carried). Before, the log's abort was only
/// logged and the state's neither counted nor logged by the server (only the framework's line for an unhandled exception).
/// </summary>
public sealed class AbortedAnswerTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly WebApplicationFactory<Program> _failing;

    public AbortedAnswerTests() =>
        _failing = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
            services.AddSingleton<IStatePersistence>(sp => FailingMidBody.Over(sp.GetRequiredService<StatePersistenceService>()).Self)));

    public async ValueTask DisposeAsync()
    {
        await _failing.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ALogAndTheState_FailingAfterTheirFirstBytes_AreAborted_LoggedAndCounted()
    {
        using HttpClient client = _failing.CreateClient();
        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/s1/log");
        ranged.Headers.Range = new RangeHeaderValue(0, null);

        await ReadAbortedAsync(client, ranged, HttpStatusCode.PartialContent);
        await ReadAbortedAsync(client, new HttpRequestMessage(HttpMethod.Get, "/api/state"), HttpStatusCode.OK);

        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"aborted_mid_answer\",status=\"206\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_requests_refused_total{reason=\"aborted_mid_answer\",status=\"200\"} 1", metrics, StringComparison.Ordinal);
        foreach (string route in new[] { "/api/sessions/s1/log", "/api/state" })
        {
            Assert.Contains(_server.Logs.Entries, e => e.Level == LogLevel.Error && e.Category.StartsWith("StatePersistence.Server", StringComparison.Ordinal)
                && e.Text.Contains($"The answer to {route} was aborted after its headers were sent", StringComparison.Ordinal)
                && e.Text.Contains(FailingMidBody.Cause, StringComparison.Ordinal));
        }
    }

    private static async Task ReadAbortedAsync(HttpClient client, HttpRequestMessage request, HttpStatusCode status)
    {
        using (request)
        {
            using HttpResponseMessage answer = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(status, answer.StatusCode);
            await using Stream body = await answer.Content.ReadAsStreamAsync(Ct);
            Exception aborted = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                byte[] buffer = new byte[8192];
                while (await body.ReadAsync(buffer, Ct) > 0)
                {
                }
            });
            Assert.True(aborted is IOException or HttpRequestException, $"not an aborted answer: {aborted}");
        }
    }

    /// <summary>An <see cref="IStatePersistence"/> whose log text and state fail after their first bytes were written.</summary>
    public class FailingMidBody : PersistenceProxy<FailingMidBody>
    {
        public const string Cause = "The append at byte 4096 no longer verifies.";

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            result = method.Name switch
            {
                nameof(IStatePersistence.OpenSessionLogAsync) => (object?)ValueTask.FromResult<ISessionLogReader?>(new FailingReader()),
                nameof(IStatePersistence.WriteStateAsync) => WriteThenFailAsync((Stream)args[0]!),
                _ => null,
            };
            return result is not null;
        }

        private static async ValueTask WriteThenFailAsync(Stream destination)
        {
            await destination.WriteAsync(new byte[4096], Ct);
            await destination.FlushAsync(Ct);
            throw new StateStorageException(Cause, "/state/logs/session_s1.log", null, isTransient: false);
        }

        private sealed class FailingReader : ISessionLogReader
        {
            public long Length => 1 << 20;

            public ValueTask CopyToAsync(Stream destination, long offset, long count, CancellationToken cancellationToken = default) =>
                WriteThenFailAsync(destination);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
