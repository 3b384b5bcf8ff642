using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The overview, which the dashboard asks for after every burst of events, costs no read of every task and no health
/// check of its own (the scale audit: at 100k tasks it took 9-15 s and gigabytes a request, deserializing every task to
/// count statuses, plus an uncached walk of every file for the disk figures).
/// </summary>
public sealed class DashboardCostTests
{
    [Fact]
    public async Task Overview_CountsWithoutLoadingEveryTask_AndSharesTheCachedHealthReport()
    {
        await using var server = new WatchedServer();
        HttpClient client = server.Client;
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        await client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d","status":"completed"}""");
        await client.PostJsonAsync("/api/tasks", """{"id":"task_3","description":"d","status":"completed"}""");

        JsonElement first = await (await client.GetUrlAsync("/api/dashboard/overview")).ExpectAsync(HttpStatusCode.OK);
        JsonElement second = await (await client.GetUrlAsync("/api/dashboard/overview")).ExpectAsync(HttpStatusCode.OK);

        foreach (JsonElement overview in new[] { first, second })
        {
            JsonElement counts = overview.GetProperty("status_counts");
            Assert.Equal(1, counts.GetProperty("pending").GetInt32());
            Assert.Equal(2, counts.GetProperty("completed").GetInt32());
            Assert.Equal(0, counts.GetProperty("failed").GetInt32());
            Assert.Equal(3, overview.GetProperty("task_count").GetInt32());
            Assert.True(overview.GetProperty("disk_bytes").GetProperty("snapshot").GetInt64() >= 0);
        }

        Assert.Equal(0, server.Watched.LoadsOfEveryTask);
        Assert.Equal(1, server.Watched.HealthChecks); // the first overview's, through the cache the second one reused
    }

    [Fact]
    public async Task TaskList_Search_ReadsOnlyThePagesMatches_SortedAndCounted()
    {
        await using var server = new WatchedServer();
        HttpClient client = server.Client;
        for (int i = 0; i < 7; i++)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"{{(i % 2 == 0 ? "Deploy" : "Write tests")}} {{i}}","tool":"CLAUDECODE"}""");
        }

        int before = server.Watched.TasksListed;
        JsonElement deploy = await (await client.GetUrlAsync("/api/dashboard/tasks?q=deploy&size=3")).ExpectAsync(HttpStatusCode.OK);
        int listed = server.Watched.TasksListed - before;
        JsonElement second = await (await client.GetUrlAsync("/api/dashboard/tasks?q=deploy&size=3&page=2")).ExpectAsync(HttpStatusCode.OK);
        HttpResponseMessage tooLong = await client.GetUrlAsync("/api/dashboard/tasks?q=" + new string('x', 201));

        Assert.Equal(4, deploy.GetProperty("total").GetInt32());
        Assert.Equal(["task_6", "task_4", "task_2"], deploy.GetProperty("tasks").EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(["task_0"], second.GetProperty("tasks").EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal("Deploy 6", deploy.GetProperty("tasks")[0].Str("description"));
        // The page's matches only: the search ran over the tasks kept in memory, deserializing none but the page's.
        Assert.Equal(3, listed);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("'q' may be at most 200 characters", await tooLong.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(0, server.Watched.LoadsOfEveryTask);
    }

    [Fact]
    public async Task TaskList_WithoutASearch_ReadsTheListingOnlyAsFarAsThePageAsked()
    {
        await using var server = new WatchedServer();
        HttpClient client = server.Client;
        for (int i = 0; i < 9; i++)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"task {{i}}","status":"{{(i % 3 == 0 ? "completed" : "pending")}}"}""");
        }

        int before = server.Watched.TasksListed;
        JsonElement first = await (await client.GetUrlAsync("/api/dashboard/tasks?size=2")).ExpectAsync(HttpStatusCode.OK);
        int forFirst = server.Watched.TasksListed - before;
        JsonElement second = await (await client.GetUrlAsync("/api/dashboard/tasks?size=2&page=2")).ExpectAsync(HttpStatusCode.OK);
        int forSecond = server.Watched.TasksListed - before - forFirst;
        JsonElement completed = await (await client.GetUrlAsync("/api/dashboard/tasks?status=completed&size=2&page=2")).ExpectAsync(HttpStatusCode.OK);
        JsonElement beyond = await (await client.GetUrlAsync("/api/dashboard/tasks?size=5&page=3")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(9, first.GetProperty("total").GetInt32());
        Assert.Equal(["task_8", "task_7"], first.GetProperty("tasks").EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(["task_6", "task_5"], second.GetProperty("tasks").EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal("task 8", first.GetProperty("tasks")[0].Str("description"));
        Assert.Equal(2, forFirst);
        Assert.Equal(4, forSecond);
        Assert.Equal(3, completed.GetProperty("total").GetInt32());
        Assert.Equal(["task_0"], completed.GetProperty("tasks").EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(9, beyond.GetProperty("total").GetInt32());
        Assert.Empty(beyond.GetProperty("tasks").EnumerateArray());
        Assert.Equal(0, server.Watched.LoadsOfEveryTask);
    }

    [Theory]
    [InlineData("/api/dashboard/tasks?size=200&page=2147483647")]
    [InlineData("/api/dashboard/tasks?size=3&page=4&q=task")]
    [InlineData("/api/dashboard/tasks?offset=9")]
    public async Task TaskList_APageAtOrPastTheTotal_IsAnsweredEmpty_ReadingNoTask(string url)
    {
        await using var server = new WatchedServer();
        HttpClient client = server.Client;
        for (int i = 0; i < 9; i++)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"task {{i}}"}""");
        }

        int before = server.Watched.TasksListed;
        JsonElement page = await (await client.GetUrlAsync(url)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(9, page.GetProperty("total").GetInt32());
        Assert.Empty(page.GetProperty("tasks").EnumerateArray());
        // Walking the listing to find the page empty read every task, and in this order scanned them all per chunk.
        Assert.Equal(0, server.Watched.TasksListed - before);
    }

    [Fact]
    public async Task TaskList_APageOfLargeTasks_IsCutAtTheListingsBytes_AndSaysWhereTheRestStarts()
    {
        await using var server = new WatchedServer();
        HttpClient client = server.Client;
        // Ten tasks of about 900 KB, under the 1 MiB task quota: 9 MB for a page of ten, past the 8 MiB of a listing.
        string description = new('d', 900_000);
        for (int i = 0; i < 10; i++)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"{{description}}"}""")).ExpectAsync(HttpStatusCode.Created);
        }

        HttpResponseMessage cut = await client.GetUrlAsync("/api/dashboard/tasks?size=10");
        byte[] cutBytes = await cut.Content.ReadAsByteArrayAsync(Ct);
        JsonElement first = await cut.ExpectAsync(HttpStatusCode.OK);
        int sent = first.GetProperty("tasks").GetArrayLength();
        JsonElement rest = await (await client.GetUrlAsync($"/api/dashboard/tasks?size={10 - sent}&offset={first.GetProperty("next_offset").GetInt64()}"))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.InRange(sent, 1, 9);
        Assert.InRange(cutBytes.Length, 0, Querying.TaskQuery.DefaultMaxBytes);
        Assert.Equal(sent, first.GetProperty("next_offset").GetInt64());
        Assert.Equal(10, first.GetProperty("total").GetInt32());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("next_offset").ValueKind);
        Assert.Equal(Enumerable.Range(0, 10).Reverse().Select(i => $"task_{i}"),
            first.GetProperty("tasks").EnumerateArray().Concat(rest.GetProperty("tasks").EnumerateArray()).Select(t => t.Str("id")));
    }

    /// <summary>A test server whose <see cref="IStatePersistence"/> is a <see cref="WatchedPersistence"/>, and a client of it.</summary>
    private sealed class WatchedServer : IAsyncDisposable
    {
        private readonly StateServerFactory _server = new();
        private readonly WebApplicationFactory<Program> _factory;
        private WatchedPersistence? _watched;

        public WatchedServer()
        {
            _factory = _server.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
                services.AddSingleton<IStatePersistence>(sp => (_watched = WatchedPersistence.Over(sp.GetRequiredService<StatePersistenceService>())).Self)));
            Client = _factory.CreateClient();
        }

        public HttpClient Client { get; }

        public FakeTimeProvider Time => _server.Time;

        /// <summary>The server's persistence, once a request has made the server resolve it.</summary>
        public WatchedPersistence Watched => _watched ?? throw new InvalidOperationException("no request has reached the server yet");

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _factory.DisposeAsync();
            await _server.DisposeAsync();
        }
    }

    /// <summary>The server's <see cref="IStatePersistence"/>, counting the calls whose cost grows with the state.</summary>
    public class WatchedPersistence : PersistenceProxy<WatchedPersistence>
    {
        private int _loads;
        private int _healthChecks;
        private int _listed;

        public int LoadsOfEveryTask => Volatile.Read(ref _loads);

        public int HealthChecks => Volatile.Read(ref _healthChecks);

        /// <summary>How many tasks the listing (<see cref="IStatePersistence.QueryTasksAsync"/>) has returned.</summary>
        public int TasksListed => Volatile.Read(ref _listed);

        protected override bool TryIntercept(MethodInfo method, object?[] args, out object? result)
        {
            if (method.Name is nameof(IStatePersistence.LoadTasksAsync) or nameof(IStatePersistence.LoadStateAsync))
            {
                Interlocked.Increment(ref _loads);
            }
            else if (method.Name == nameof(IStatePersistence.CheckHealth))
            {
                Interlocked.Increment(ref _healthChecks);
            }

            result = Forward(method, args);
            if (result is ValueTask<Querying.TaskPage> listing)
            {
                result = new ValueTask<Querying.TaskPage>(CountListedAsync(listing));
            }

            return true;
        }

        private async Task<Querying.TaskPage> CountListedAsync(ValueTask<Querying.TaskPage> listing)
        {
            Querying.TaskPage page = await listing;
            Interlocked.Add(ref _listed, page.Tasks.Count);
            return page;
        }
    }
}
