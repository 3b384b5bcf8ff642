using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using StatePersistence.Server.Routes;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>No request costs more than a page, a streamed file, or a snapshot that something asked for.</summary>
public sealed class BoundedCostTests
{
    [Fact]
    public async Task Lists_ArePaged_AndFollowingNextReadsEverythingOnce()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        for (int i = 0; i < 7; i++)
        {
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t{{i}}","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? next = "/api/tasks?limit=3";
        int pages = 0;
        while (next is not null)
        {
            HttpResponseMessage response = await client.GetUrlAsync(next);
            JsonElement page = await response.ExpectAsync(HttpStatusCode.OK);
            seen.AddRange(page.EnumerateArray().Select(t => t.Str("id")));
            next = response.Headers.TryGetValues("Link", out IEnumerable<string>? links)
                ? links.Single().Split('>')[0].TrimStart('<')
                : null;
            pages++;
        }

        Assert.Equal(["t0", "t1", "t2", "t3", "t4", "t5", "t6"], seen);
        Assert.Equal(3, pages);
        await (await client.GetUrlAsync("/api/tasks?limit=0")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await client.GetUrlAsync("/api/tasks?limit=1001")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TaskPages_EndAtEightMebibytesOfTasks_AndTheCursorGoesOn()
    {
        // Ten tasks of about a mebibyte each (under the 1 MiB task quota): a page of 1,000 would hold all ten in one
        // answer. It holds what fits in 8 MiB of stored JSON, and the cursor reads the rest.
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string blob = new('x', 1_000_000);
        for (int i = 0; i < 10; i++)
        {
            await (await client.PutJsonAsync($"/api/tasks/big_{i}", $$"""{"description":"d","blob":"{{blob}}"}""")).ExpectAsync(HttpStatusCode.Created);
        }

        HttpResponseMessage first = await client.GetUrlAsync("/api/tasks");
        JsonElement firstPage = await first.ExpectAsync(HttpStatusCode.OK);
        string cursor = first.Headers.GetValues(TaskListRoute.NextCursorHeader).Single();
        HttpResponseMessage second = await client.GetUrlAsync("/api/tasks?next=" + Uri.EscapeDataString(cursor));
        JsonElement secondPage = await second.ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(8, firstPage.GetArrayLength());
        Assert.Equal(["big_8", "big_9"], secondPage.EnumerateArray().Select(t => t.Str("id")));
        Assert.False(second.Headers.Contains(TaskListRoute.NextCursorHeader));
    }

    [Fact]
    public async Task State_IsStreamed_NotBuiltWholeFirst()
    {
        // An answer built whole before it is sent knows its length; a streamed one is sent chunked, without one.
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        for (int i = 0; i < 40; i++)
        {
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t{{i:D2}}","description":"{{new string('d', 4000)}}"}""")).ExpectAsync(HttpStatusCode.Created);
        }

        HttpResponseMessage response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/state"), HttpCompletionOption.ResponseHeadersRead, Ct);
        long? length = response.Content.Headers.ContentLength; // read before the body: buffering it would compute one
        JsonElement state = await response.ExpectAsync(HttpStatusCode.OK);

        Assert.Null(length);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(40, state.GetProperty("tasks").GetArrayLength());
        Assert.Equal(40, state.GetProperty("metrics").GetProperty("total_tasks").GetInt32());
    }

    [Fact]
    public async Task SessionsReportsAndStatusFilters_ArePagedToo()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        foreach (string id in new[] { "a", "b", "c" })
        {
            await client.PostJsonAsync("/api/sessions", $$"""{"id":"{{id}}","type":"i","status":"active"}""");
            await client.PostJsonAsync("/api/reports", $$"""{"id":"{{id}}","type":"t","data":1}""");
            await client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"d","status":"completed"}""");
        }

        HttpResponseMessage sessions = await client.GetUrlAsync("/api/sessions?limit=2&after=a");
        HttpResponseMessage reports = await client.GetUrlAsync("/api/reports?after=b");
        HttpResponseMessage tasks = await client.GetUrlAsync("/api/tasks?status=completed&limit=2");

        Assert.Equal(["b", "c"], (await sessions.ExpectAsync(HttpStatusCode.OK)).EnumerateArray().Select(s => s.Str("id")));
        Assert.Equal(["c"], (await reports.ExpectAsync(HttpStatusCode.OK)).EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(2, (await tasks.ExpectAsync(HttpStatusCode.OK)).GetArrayLength());
        Assert.Contains("status=completed", tasks.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        // The next page starts at the cursor the page returned (issue 13 item 7), which the Link carries too.
        Assert.Contains("next=" + Uri.EscapeDataString(tasks.Headers.GetValues("X-Next-Cursor").Single()), tasks.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionLog_IsStreamedWithRangeSupport()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""");
        await client.PostAsync("/api/sessions/s1/log", Text("0123456789"), Ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/s1/log");
        request.Headers.Range = new RangeHeaderValue(2, 5);

        HttpResponseMessage whole = await client.GetUrlAsync("/api/sessions/s1/log");
        HttpResponseMessage part = await client.SendAsync(request, Ct);

        Assert.Equal("0123456789", await whole.TextAsync());
        Assert.Equal("bytes", whole.Headers.AcceptRanges.Single());
        Assert.Equal("text/plain", whole.ContentType()?.MediaType);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal("2345", await part.TextAsync());
    }

    [Fact]
    public async Task StateSave_WhenNothingChanged_WritesNoSnapshotOrBackup()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""");

        JsonElement first = await (await client.PostAsync("/api/state/save", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        int backups = Directory.GetFiles(server.StatePath, "state.backup.*.json").Length;
        server.Time.Advance(TimeSpan.FromMinutes(1));
        JsonElement[] again = new JsonElement[12];
        for (int i = 0; i < again.Length; i++)
        {
            again[i] = await (await client.PostAsync("/api/state/save", null, Ct)).ExpectAsync(HttpStatusCode.OK);
        }

        Assert.True(first.GetProperty("saved").GetBoolean());
        Assert.All(again, a => Assert.False(a.GetProperty("saved").GetBoolean()));
        Assert.All(again, a => Assert.Equal(first.Str("last_saved"), a.Str("last_saved")));
        Assert.Equal(backups, Directory.GetFiles(server.StatePath, "state.backup.*.json").Length);
    }
}
