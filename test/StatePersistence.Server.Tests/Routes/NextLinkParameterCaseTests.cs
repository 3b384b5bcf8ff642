using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// The routes read query parameter names ignoring case, so the next page's <c>Link</c> must replace the paging
/// parameters however the client spelt them: it dropped only the lower-case ones, and <c>?After=t1</c> gave a link
/// with both <c>After</c> and <c>next</c> (a 400 when followed), <c>?Limit=2</c> one with <c>Limit</c> and <c>limit</c>
/// (a 400 for a parameter given twice).
/// </summary>
public sealed class NextLinkParameterCaseTests
{
    [Theory]
    [InlineData("/api/tasks?After=t0&LIMIT=2", "t1,t2,t3,t4,t5")]
    [InlineData("/api/tasks?Limit=2&sort=-id", "t5,t4,t3,t2,t1,t0")]
    [InlineData("/api/tasks?limit=2&NEXT=", "t0,t1,t2,t3,t4,t5")]
    [InlineData("/api/sessions?Limit=2", "s0,s1,s2,s3,s4,s5")]
    [InlineData("/api/sessions?LIMIT=2&After=s3", "s4,s5")]
    [InlineData("/api/reports?Limit=2", "r0,r1,r2,r3,r4,r5")]
    public async Task FollowingTheLink_WithParametersInAnyCase_ReadsEveryItemOnce(string first, string expected)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        for (int i = 0; i < 6; i++)
        {
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t{{i}}","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
            await (await client.PostJsonAsync("/api/sessions", $$"""{"id":"s{{i}}","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
            await (await client.PostJsonAsync("/api/reports", $$$"""{"id":"r{{{i}}}","type":"t","data":{}}""")).ExpectAsync(HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? next = first;
        for (int pages = 0; next is not null; pages++)
        {
            Assert.True(pages < 10, "the links do not end");
            HttpResponseMessage response = await client.GetUrlAsync(next);
            JsonElement page = await response.ExpectAsync(HttpStatusCode.OK);
            seen.AddRange(page.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.String ? item.GetString()! : item.Str("id")));
            next = response.Headers.TryGetValues("Link", out IEnumerable<string>? links) ? links.Single().Split('>')[0].TrimStart('<') : null;
        }

        Assert.Equal(expected, string.Join(',', seen));
    }
}
