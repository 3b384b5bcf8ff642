using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// With an API key configured, an operator is whoever holds it. A request to a route open without the key
/// (<c>/health</c>, <c>/login</c>, the dashboard's files) that named an action in <c>X-StatePersistence-Action</c> was
/// audited all the same: anyone who could reach the server wrote "Audit: operator action …" lines into its log, one
/// Information line per request, and <c>audit</c> events into every open dashboard's stream, each of which redraws it.
/// </summary>
public sealed class AuditWithoutKeyTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-key";

    [Fact]
    public async Task AnActionNamedWithoutTheKey_OnAnOpenRoute_IsNotAudited_WhileOneWithTheKeyIs()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient operatorClient = server.Client(Key);
        using HttpClient anyone = server.Client();
        await using var events = await SseReader.OpenAsync(operatorClient);

        foreach ((HttpMethod method, string url) in new[] { (HttpMethod.Get, "/health"), (HttpMethod.Post, "/login"), (HttpMethod.Get, "/dashboard/assets/app.css") })
        {
            using var forged = new HttpRequestMessage(method, url);
            forged.Headers.Add("X-StatePersistence-Action", "cancel-task");
            HttpResponseMessage answer = await anyone.SendAsync(forged, Ct);
            Assert.NotEqual(HttpStatusCode.Unauthorized, answer.StatusCode); // an open route: the request was served
        }

        // The operator's own action comes after them in the stream: it is the first audit there.
        using var action = new HttpRequestMessage(HttpMethod.Get, "/health");
        action.Headers.Add("X-StatePersistence-Action", "check-health");
        await (await operatorClient.SendAsync(action, Ct)).ExpectAsync(HttpStatusCode.OK);

        SseReader.Event audit = (await events.ReadAsync(1)).Single();
        Assert.Equal("audit", audit.Type);
        Assert.Equal("check-health", JsonDocument.Parse(audit.Data).RootElement.GetProperty("action").GetString());
        Assert.DoesNotContain(server.Logs.Entries, e => e.Text.Contains("operator action cancel-task", StringComparison.Ordinal));
        Assert.Contains(server.Logs.Entries, e => e.Text.Contains("operator action check-health: GET /health answered 200", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAKey_AnActionIsAuditedAsBefore()
    {
        // Without a key the server answers loopback only, and whoever reaches it is the operator.
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        using var action = new HttpRequestMessage(HttpMethod.Get, "/health");
        action.Headers.Add("X-StatePersistence-Action", "check-health");
        await (await client.SendAsync(action, Ct)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("audit", (await events.ReadAsync(1)).Single().Type);
    }
}
