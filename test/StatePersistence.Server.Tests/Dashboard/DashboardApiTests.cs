using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

public sealed class DashboardApiTests
{
    [Fact]
    public async Task Tasks_AreFilteredByStatus_SearchedInIdDescriptionAndTool_AndPaged()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        for (int i = 0; i < 7; i++)
        {
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"{{(i % 2 == 0 ? "Deploy" : "Write tests")}} {{i}}","tool":"CLAUDECODE"}""");
        }

        await client.PatchJsonAsync("/api/tasks/task_3", """{"status":"failed"}""");

        JsonElement failed = await (await client.GetUrlAsync("/api/dashboard/tasks?status=failed")).JsonAsync();
        JsonElement deploy = await (await client.GetUrlAsync("/api/dashboard/tasks?q=deploy&size=3&page=2")).JsonAsync();
        JsonElement none = await (await client.GetUrlAsync("/api/dashboard/tasks?q=nothing-like-this")).JsonAsync();

        Assert.Equal(1, failed.GetProperty("total").GetInt32());
        Assert.Equal("task_3", failed.GetProperty("tasks")[0].GetProperty("id").GetString());
        Assert.Equal(4, deploy.GetProperty("total").GetInt32());
        Assert.Equal(1, deploy.GetProperty("tasks").GetArrayLength());
        Assert.Equal(0, none.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("status=done", "status")]
    [InlineData("page=0", "page")]
    [InlineData("size=201", "size")]
    [InlineData("size=abc", "size")]
    public async Task Tasks_WithABadQuery_Answer400NamingTheField(string query, string field)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage response = await client.GetUrlAsync("/api/dashboard/tasks?" + query);
        JsonElement problem = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Overview_CountsByStatus_AndListsTheBackupsAfterSnapshots()
    {
        // The folders measured at this request, not at the start (DiskUsageIntervalTests): the task files below are the saves'.
        await using var server = new StateServerFactory(("StatePersistence:DiskUsageInterval", "00:00:00"));
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        await client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d","status":"completed"}""");
        await client.PostAsync("/api/state/save", null, Ct);
        server.Time.Advance(TimeSpan.FromSeconds(5));
        await client.PostJsonAsync("/api/tasks", """{"id":"task_3","description":"d"}""");
        await client.PostAsync("/api/state/save", null, Ct);

        JsonElement overview = await (await client.GetUrlAsync("/api/dashboard/overview")).JsonAsync();

        Assert.Equal(2, overview.GetProperty("status_counts").GetProperty("pending").GetInt32());
        Assert.Equal(1, overview.GetProperty("status_counts").GetProperty("completed").GetInt32());
        Assert.Equal(3, overview.GetProperty("task_count").GetInt32());
        Assert.Equal("Healthy", overview.GetProperty("health").GetString());
        Assert.True(overview.GetProperty("disk_bytes").GetProperty("snapshot").GetInt64() > 0);
        Assert.Equal(["archive", "backups", "journal", "logs", "reports", "sessions", "snapshot", "tasks"],
            overview.GetProperty("disk_bytes").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.True(overview.GetProperty("disk_bytes").GetProperty("tasks").GetInt64() > 0);
        Assert.True(overview.GetProperty("backups").GetArrayLength() >= 1);
        Assert.True(overview.GetProperty("saves_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task Overview_SavesPerSecond_AveragesTheLastTenWholeSeconds()
    {
        await using var server = new StateServerFactory(("StatePersistence:AutosaveInterval", "00:00:00"));
        using HttpClient client = server.Client();
        for (int i = 0; i < 3; i++)
        {
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"d"}""");
        }

        double during = await SavesPerSecondAsync(client);
        server.Time.Advance(TimeSpan.FromSeconds(1));
        double after = await SavesPerSecondAsync(client);
        server.Time.Advance(TimeSpan.FromSeconds(10));
        double later = await SavesPerSecondAsync(client);

        Assert.Equal(0, during); // the second still running is not counted yet
        Assert.Equal(0.3, after, 6);
        Assert.Equal(0, later);
    }

    [Fact]
    public async Task Recovery_IsTheLastRecoveryReport()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        JsonElement report = await (await client.GetUrlAsync("/api/dashboard/recovery")).JsonAsync();

        Assert.Equal("none", report.GetProperty("snapshot_source").GetString());
    }

    private static async Task<double> SavesPerSecondAsync(HttpClient client) =>
        (await (await client.GetUrlAsync("/api/dashboard/overview")).JsonAsync()).GetProperty("saves_per_second").GetDouble();
}
