using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// A request refused for who sent it (401 without the key or with a wrong one, 403 for another site's page, 403 for a
/// write with the dashboard's cookie not from its page) is counted on <c>/metrics</c> by reason and logged, the first of
/// a spell a Warning and the rest summed up; the cookie write is audited as <c>write</c>. Before 2026-12-08 none of them
/// left a trace: a key being guessed went unseen.
/// </summary>
public sealed class AccessRefusalTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task EachRefusal_IsCountedByReason_AndLoggedOncePerSpell_WithoutTheKeyItWasSent()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();
        using HttpClient wrong = server.Client(Key + "-wrong");
        using HttpClient operatorClient = server.Client(Key);

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetUrlAsync("/api/tasks")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetUrlAsync("/api/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetUrlAsync("/api/sessions")).StatusCode);
        using var crossSite = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        crossSite.Headers.Add("Origin", "http://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.SendAsync(crossSite, Ct)).StatusCode);
        using var staleCookie = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        staleCookie.Headers.Add("Cookie", "statepersistence_dashboard=2.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(staleCookie, Ct)).StatusCode);

        string metrics = await (await operatorClient.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_access_refused_total{reason=\"no_key\",status=\"401\"} 3", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_access_refused_total{reason=\"wrong_key\",status=\"401\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_access_refused_total{reason=\"cross_site\",status=\"403\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_access_refused_total{reason=\"cookie_refused\",status=\"401\"} 1", metrics, StringComparison.Ordinal);

        var warnings = server.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Text.StartsWith("A request was refused", StringComparison.Ordinal)).ToList();
        Assert.Contains(warnings, e => e.Text == "A request was refused (no_key, 401): GET /api/tasks from unknown: it carries neither Authorization: Bearer nor the dashboard's cookie");
        Assert.Contains(warnings, e => e.Text.StartsWith("A request was refused (wrong_key, 401): GET /api/tasks from unknown", StringComparison.Ordinal));
        Assert.Contains(warnings, e => e.Text.StartsWith("A request was refused (cross_site, 403): GET /api/tasks from unknown: a page of another site (Origin: http://evil.example)", StringComparison.Ordinal));
        Assert.Contains(warnings, e => e.Text.StartsWith("A request was refused (cookie_refused, 401)", StringComparison.Ordinal));
        Assert.Equal(4, warnings.Count); // one per reason: the repeats of a spell are Debug lines and a summary
        Assert.DoesNotContain(server.Logs.Entries, e => e.Text.Contains(Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACookieWriteNotFromTheDashboardsPage_IsCountedLogged_AndAuditedAsAWrite()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        HttpResponseMessage login = await client.PostAsync("/login", new FormUrlEncodedContent([new("key", Key)]), Ct);
        string cookie = Assert.Single(login.Headers.GetValues("Set-Cookie")).Split(';')[0];

        using var write = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        write.Headers.Add("Cookie", cookie);
        await (await client.SendAsync(write, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);

        using HttpClient operatorClient = server.Client(Key);
        string metrics = await (await operatorClient.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_access_refused_total{reason=\"cookie_write_not_from_page\",status=\"403\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Warning
            && e.Text.StartsWith("A request was refused (cookie_write_not_from_page, 403): POST /api/tasks from unknown", StringComparison.Ordinal));
        await UntilLogged(server, "Audit: operator action write: POST /api/tasks answered 403 (client unknown)");
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.GetUrlAsync("/api/tasks/task_1")).StatusCode);
    }

    /// <summary>The audit is written once the answer is complete, which may be just after the client has it.</summary>
    private static async Task UntilLogged(StateServerFactory server, string line)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(10));
        while (!server.Logs.Entries.Any(e => e.Text == line))
        {
            try
            {
                await Task.Delay(10, bounded.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                Assert.Fail($"Not logged within 10 s: {line}");
            }
        }
    }
}
