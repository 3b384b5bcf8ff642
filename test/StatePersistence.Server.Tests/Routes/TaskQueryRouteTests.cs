using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>Issue 13 item 7: <c>GET /api/tasks</c> filters, sorts and pages with a cursor.</summary>
public sealed class TaskQueryRouteTests
{
    [Fact]
    public async Task List_FiltersByStatusToolAndUpdatedSince()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await CreateAsync(client, server, "task_a", "CODEX", "completed");
        await CreateAsync(client, server, "task_b", "CLAUDECODE", "completed");
        await CreateAsync(client, server, "task_c", "CLAUDECODE", "pending");
        await CreateAsync(client, server, "task_d", "CLAUDECODE", "completed");

        JsonElement page = await (await client.GetUrlAsync("/api/tasks?status=completed&tool=CLAUDECODE&updatedSince=2024-01-01T10:02:00Z"))
            .ExpectAsync(HttpStatusCode.OK);
        JsonElement since = await (await client.GetUrlAsync("/api/tasks?updatedSince=2024-01-01T12:02:00%2B02:00"))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["task_b", "task_d"], page.EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(["task_b", "task_c", "task_d"], since.EnumerateArray().Select(t => t.Str("id")));
    }

    [Fact]
    public async Task List_SearchesIdDescriptionAndTool_IgnoringCase_AndTheNextLinkKeepsTheSearch()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await CreateAsync(client, server, "task_a", "CODEX", "completed");
        await CreateAsync(client, server, "task_b", "CLAUDECODE", "completed");
        await CreateAsync(client, server, "task_c", "CLAUDECODE", "pending");

        HttpResponseMessage first = await client.GetUrlAsync("/api/tasks?q=claude&limit=1");
        JsonElement page = await first.ExpectAsync(HttpStatusCode.OK);
        string link = first.Headers.GetValues("Link").Single();
        JsonElement rest = await (await client.GetUrlAsync(link[1..link.IndexOf('>', StringComparison.Ordinal)])).ExpectAsync(HttpStatusCode.OK);
        JsonElement byId = await (await client.GetUrlAsync("/api/tasks?q=%20TASK_A%20")).ExpectAsync(HttpStatusCode.OK);
        JsonElement none = await (await client.GetUrlAsync("/api/tasks?q=nothing-has-this")).ExpectAsync(HttpStatusCode.OK);
        HttpResponseMessage tooLong = await client.GetUrlAsync("/api/tasks?q=" + new string('x', 201));

        Assert.Equal(["task_b"], page.EnumerateArray().Select(t => t.Str("id")));
        Assert.Contains("q=claude", link, StringComparison.Ordinal);
        Assert.Equal(["task_c"], rest.EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(["task_a"], byId.EnumerateArray().Select(t => t.Str("id")));
        Assert.Empty(none.EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("'q' may be at most 200 characters", await tooLong.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("-id")]
    [InlineData("createdAt")]
    [InlineData("updatedAt")]
    [InlineData("-updatedAt")]
    public async Task List_FollowingTheCursorAcrossPages_ReturnsEveryTaskExactlyOnce_InOrder(string sort)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        // Creation order differs from id order; updates change the updated_at order again.
        string[] ids = ["task_h", "task_b", "task_j", "task_a", "task_e", "task_i", "task_c", "task_g", "task_d", "task_f"];
        foreach (string id in ids)
        {
            await CreateAsync(client, server, id, "CLAUDECODE", "pending");
        }

        foreach (string id in new[] { "task_b", "task_h", "task_a" })
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            await (await client.PatchJsonAsync("/api/tasks/" + id, """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
        }

        List<JsonElement> all = [.. (await (await client.GetUrlAsync("/api/tasks")).JsonAsync()).EnumerateArray()];
        string field = sort.TrimStart('-') switch { "createdAt" => "created_at", "updatedAt" => "updated_at", _ => "id" };
        List<string> expected = [.. all.OrderBy(t => t.Str(field), StringComparer.Ordinal).ThenBy(t => t.Str("id"), StringComparer.Ordinal).Select(t => t.Str("id"))];
        if (sort.StartsWith('-'))
        {
            expected.Reverse();
        }

        var seen = new List<string>();
        string? url = $"/api/tasks?sort={sort}&limit=3";
        int pages = 0;
        while (url is not null)
        {
            HttpResponseMessage response = await client.GetUrlAsync(url);
            JsonElement page = await response.ExpectAsync(HttpStatusCode.OK);
            seen.AddRange(page.EnumerateArray().Select(t => t.Str("id")));
            bool more = response.Headers.TryGetValues("X-Next-Cursor", out IEnumerable<string>? cursor);
            url = more ? $"/api/tasks?sort={sort}&limit=3&next={Uri.EscapeDataString(cursor!.Single())}" : null;
            Assert.Equal(more, response.Headers.Contains("Link"));
            pages++;
        }

        Assert.Equal(10, all.Count);
        Assert.Equal(expected, seen);
        Assert.Equal(4, pages);
    }

    [Fact]
    public async Task List_TheOlderAfterParameter_StillPagesById()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        foreach (string id in new[] { "a", "b", "c" })
        {
            await CreateAsync(client, server, id, "CLAUDECODE", "pending");
        }

        JsonElement page = await (await client.GetUrlAsync("/api/tasks?after=a&limit=1")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["b"], page.EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal("after", (await (await client.GetUrlAsync("/api/tasks?after=a&sort=updatedAt")).ExpectProblemAsync(HttpStatusCode.BadRequest)).Str("field"));
    }

    [Theory]
    [InlineData("sort=name", "sort", "updatedAt")]
    [InlineData("updatedSince=yesterday", "updatedSince", "ISO-8601")]
    [InlineData("updatedSince=10:00", "updatedSince", "ISO-8601")]
    [InlineData("next=not-a-cursor", "next", "cursor")]
    [InlineData("next=MDowOv8", "next", "cursor")] // "0:0:" and a byte that is not UTF-8: a fabricated cursor
    [InlineData("limit=0", "limit", "1000")]
    [InlineData("status=done", "status", "pending")]
    public async Task List_ABadParameter_Is400_NamingIt(string query, string field, string hint)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        JsonElement problem = await (await client.GetUrlAsync("/api/tasks?" + query)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Contains(hint, problem.Str("detail"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("createdAt", "updatedAt")]
    [InlineData("-id", "id")]
    [InlineData("id", "-createdAt")]
    [InlineData("-updatedAt", "createdAt")]
    public async Task List_ACursorOfAnotherOrder_Is400_NamingBothSortsAsTheApiSpellsThem(string made, string asked)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        foreach (string id in new[] { "a", "b" })
        {
            await CreateAsync(client, server, id, "CLAUDECODE", "pending");
        }

        string cursor = (await client.GetUrlAsync($"/api/tasks?sort={made}&limit=1")).Headers.GetValues("X-Next-Cursor").Single();

        JsonElement problem = await (await client.GetUrlAsync($"/api/tasks?sort={asked}&next=" + Uri.EscapeDataString(cursor)))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("next", problem.Str("field"));
        Assert.Contains($"the cursor was made for sort={made}, not sort={asked}", problem.Str("detail"), StringComparison.Ordinal);
    }

    /// <summary>Creates a task one fake minute after the previous one, so created_at and updated_at differ between tasks.</summary>
    private static async Task CreateAsync(HttpClient client, StateServerFactory server, string id, string tool, string status)
    {
        server.Time.Advance(TimeSpan.FromMinutes(1));
        await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"d","tool":"{{tool}}","status":"{{status}}"}"""))
            .ExpectAsync(HttpStatusCode.Created);
    }
}
