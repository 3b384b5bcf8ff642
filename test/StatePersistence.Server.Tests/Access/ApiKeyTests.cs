using System.Net;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

public sealed class ApiKeyTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Theory]
    [InlineData("/api/tasks")]
    [InlineData("/api/sessions")]
    [InlineData("/api/reports")]
    [InlineData("/api/state")]
    [InlineData("/api/metrics")]
    [InlineData("/metrics")]
    [InlineData("/api/tasks/task_1")]
    public async Task WithKeyFromEnvironmentSetting_EveryRouteButHealth_Answers401WithoutIt(string url)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();
        using HttpClient wrong = server.Client("not-the-key");
        using HttpClient right = server.Client(Key);

        HttpResponseMessage none = await anonymous.GetUrlAsync(url);
        HttpResponseMessage bad = await wrong.GetUrlAsync(url);
        HttpResponseMessage good = await right.GetUrlAsync(url);

        await none.ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        await bad.ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.NotEqual(HttpStatusCode.Unauthorized, good.StatusCode);
    }

    [Fact]
    public async Task WithKey_WritesWithoutIt_AreRefusedAndWriteNothing()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();

        await (await anonymous.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.PostAsync("/api/state/save", null, Ct)).ExpectProblemAsync(HttpStatusCode.Unauthorized);

        Assert.Empty(await server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
        Assert.False(File.Exists(server.File("state.json")));
    }

    [Fact]
    public async Task WithKey_HealthStaysOpen()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();

        HttpResponseMessage response = await anonymous.GetUrlAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithKey_The401NamesTheRoutesOpenWithoutIt_AndTheyAre(bool metricsWithoutKey)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key),
            ("StatePersistence:Server:MetricsWithoutKey", metricsWithoutKey ? "true" : "false"));
        using HttpClient anonymous = server.Client();

        string detail = (await (await anonymous.GetUrlAsync("/api/tasks")).ExpectProblemAsync(HttpStatusCode.Unauthorized)).Str("detail");

        Assert.Contains("every route except /health, /login and the dashboard's files under /dashboard/assets/", detail, StringComparison.Ordinal);
        Assert.Equal(metricsWithoutKey, detail.Contains("/metrics", StringComparison.Ordinal));
        foreach (string open in new[] { "/health", "/login", "/dashboard/assets/app.js" })
        {
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetUrlAsync(open)).StatusCode);
        }
    }

    [Fact]
    public async Task KeyFromSetting_IsUsed_AndSchemeIsCaseInsensitive()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:ApiKey", Key));
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + Key);

        HttpResponseMessage anonymous = await client.GetUrlAsync("/api/tasks");
        HttpResponseMessage lower = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, lower.StatusCode);
    }

    [Theory]
    [InlineData("Basic " + Key)]
    [InlineData(Key)]
    [InlineData("Bearer")]
    [InlineData("Bearer k3y-Secret-Value-4")]
    [InlineData("Bearer k3y-Secret-Value-421")]
    public async Task MalformedOrNearMissAuthorization_Answers401(string header)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.TryAddWithoutValidation("Authorization", header);

        HttpResponseMessage response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task WithoutKey_EveryRouteIsOpen()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetUrlAsync("/api/tasks")).StatusCode);
    }

    [Fact]
    public async Task NeitherTheKeyNorTaskContent_IsLoggedAtInformationOrAbove()
    {
        const string content = "TOP-SECRET-TASK-CONTENT";
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client(Key);
        using HttpClient wrong = server.Client(Key + "-wrong");

        await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_1","description":"{{content}}"}""")).ExpectAsync(HttpStatusCode.Created);
        await client.PatchJsonAsync("/api/tasks/task_1", $$"""{"result":"{{content}}"}""");
        await client.PostJsonAsync("/api/tasks/task_1/logs", $$"""{"level":"info","type":"output","message":"{{content}}"}""");
        await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        await client.PostAsync("/api/sessions/s1/log", Text(content), Ct);
        await client.PostJsonAsync("/api/reports", $$"""{"id":"r1","type":"t","data":"{{content}}"}""");
        await wrong.GetUrlAsync("/api/tasks");
        await client.PostJsonAsync("/api/tasks", $$"""{"id":"bad.id","description":"{{content}}"}""");

        var entries = server.Logs.Entries.Where(e => e.Level >= LogLevel.Information).ToList();
        Assert.NotEmpty(entries);
        Assert.DoesNotContain(entries, e => e.Text.Contains(content, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Text.Contains(Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DebugLogging_UsesTheStatePersistenceCategoryTree()
    {
        await using var server = new StateServerFactory(("Logging:LogLevel:StatePersistence", "Debug"));
        using HttpClient client = server.Client();

        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Debug && e.Category.StartsWith("StatePersistence", StringComparison.Ordinal)
            && e.Text.Contains("task_1", StringComparison.Ordinal));
    }
}
