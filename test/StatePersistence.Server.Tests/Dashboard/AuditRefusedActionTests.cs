using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// An operator action the server refuses is audited like one it carries out, with the status it was answered: the
/// refusals a route raises as exceptions (an invalid id, an invalid field) used to skip the audit entirely.
/// </summary>
public sealed class AuditRefusedActionTests
{
    [Theory]
    [InlineData("/api/tasks/a.b", """{"status":"cancelled"}""")]
    [InlineData("/api/tasks/task_1", """{"status":"bogus"}""")]
    public async Task AnActionRefusedWith400_IsAuditedWithItsStatus(string url, string body)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        // The stream is opened first and the creation's event read off it: opened after the 201, it could still
        // carry that event (published once the commit's answer was on its way), which CI saw in place of the audit.
        await using var events = await SseReader.OpenAsync(client);
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).ExpectAsync(System.Net.HttpStatusCode.Created);
        Assert.Equal("task:created", (await events.ReadAsync(1)).Single().Type);

        using var request = new HttpRequestMessage(HttpMethod.Patch, url) { Content = Json(body) };
        request.Headers.Add("X-StatePersistence-Action", "cancel-task");
        await (await client.SendAsync(request, Ct)).ExpectProblemAsync(System.Net.HttpStatusCode.BadRequest);

        // The audit event comes once the answer is complete; the stream carries nothing else here (nothing changed).
        SseReader.Event audit = (await events.ReadAsync(1)).Single();
        JsonElement data = JsonDocument.Parse(audit.Data).RootElement;
        Assert.Equal("audit", audit.Type);
        Assert.Equal("cancel-task", data.GetProperty("action").GetString());
        Assert.Equal(url, data.GetProperty("path").GetString());
        Assert.Equal(400, data.GetProperty("status").GetInt32());
        Assert.Contains(server.Logs.Entries, e => e.Text == $"Audit: operator action cancel-task: PATCH {url} answered 400 (client unknown)");
    }
}
