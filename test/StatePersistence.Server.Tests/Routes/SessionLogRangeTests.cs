using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <c>Range</c> on <c>GET /api/sessions/{id}/log</c> as RFC 9110 section 14 has it: one <c>bytes</c> range is 206, a
/// range the RFC says to ignore gets the whole log (200), and one past the end is a 416 problem naming the length.
/// </summary>
public sealed class SessionLogRangeTests : ServerRouteTests
{
    private const string Log = "npm test passed\n";

    public override async ValueTask InitializeAsync()
    {
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"empty","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsync("/api/sessions/s1/log", Text(Log), Ct)).StatusCode);
    }

    [Theory]
    [InlineData("bytes=0-2", "npm", "bytes 0-2/16")]
    [InlineData("bytes=4-", "test passed\n", "bytes 4-15/16")]
    [InlineData("bytes=-7", "passed\n", "bytes 9-15/16")]
    [InlineData("bytes=10-2000", "assed\n", "bytes 10-15/16")]
    public async Task OneByteRange_Is206(string range, string part, string contentRange)
    {
        HttpResponseMessage answer = await GetAsync("/api/sessions/s1/log", ("Range", range));

        Assert.Equal(HttpStatusCode.PartialContent, answer.StatusCode);
        Assert.Equal(part, await answer.TextAsync());
        Assert.Equal(contentRange, answer.Content.Headers.ContentRange?.ToString());
        Assert.Equal("bytes", answer.Headers.AcceptRanges.ToString());
    }

    [Theory]
    [InlineData("bytes=0-1", "If-Range", "\"xyz\"")]
    [InlineData("bytes=0-1", "If-Range", "Mon, 01 Jan 2024 10:00:00 GMT")]
    [InlineData("items=0-1", null, null)]
    [InlineData("bytes=0-1,4-5", null, null)]
    [InlineData("bytes=x-y", null, null)]
    public async Task ARangeTheRfcSaysToIgnore_GetsTheWholeLog(string range, string? header, string? value)
    {
        HttpResponseMessage answer = header is null
            ? await GetAsync("/api/sessions/s1/log", ("Range", range))
            : await GetAsync("/api/sessions/s1/log", ("Range", range), (header, value!));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(Log, await answer.TextAsync());
        Assert.Null(answer.Content.Headers.ContentRange);
    }

    [Theory]
    [InlineData("/api/sessions/s1/log", "bytes=1000-2000", 16)]
    [InlineData("/api/sessions/s1/log", "bytes=16-", 16)]
    [InlineData("/api/sessions/empty/log", "bytes=0-2", 0)]
    [InlineData("/api/sessions/empty/log", "bytes=-5", 0)]
    public async Task ARangePastTheEnd_Is416_AProblemNamingTheLength(string url, string range, long length)
    {
        HttpResponseMessage answer = await GetAsync(url, ("Range", range));

        JsonElement problem = await answer.ExpectProblemAsync(HttpStatusCode.RequestedRangeNotSatisfiable);
        Assert.Equal($"bytes */{length}", answer.Content.Headers.ContentRange?.ToString());
        Assert.Equal(length, problem.GetProperty("length").GetInt64());
        Assert.Equal("Range", problem.Str("field"));
        Assert.Contains(length == 0 ? "empty" : $"{length} bytes", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bytes=4-10", "ü two\n", "bytes 4-10/21")]
    [InlineData("bytes=0-", "one ü two\nthree ✓\n", "bytes 0-20/21")]
    [InlineData("bytes=-5", " ✓\n", "bytes 16-20/21")]
    [InlineData("bytes=9-16", "o\nthree ", "bytes 9-16/21")]
    public async Task ARangeAcrossAppends_IsTheTextsBytesThere(string range, string part, string contentRange)
    {
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"multi","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        foreach (string append in new[] { "one ", "ü two\n", "three", " ✓\n" })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsync("/api/sessions/multi/log", Text(append), Ct)).StatusCode);
        }

        HttpResponseMessage answer = await GetAsync("/api/sessions/multi/log", ("Range", range));

        Assert.Equal(HttpStatusCode.PartialContent, answer.StatusCode);
        Assert.Equal(part, await answer.TextAsync());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(part), answer.Content.Headers.ContentLength);
        Assert.Equal(contentRange, answer.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task ALogWithNothingLogged_IsEmpty_AndSaysItTakesRanges()
    {
        HttpResponseMessage answer = await Client.GetUrlAsync("/api/sessions/empty/log");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("", await answer.TextAsync());
        Assert.Equal("text/plain", answer.ContentType()?.MediaType);
        Assert.Equal("bytes", answer.Headers.AcceptRanges.ToString());
    }

    private Task<HttpResponseMessage> GetAsync(string url, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach ((string name, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return Client.SendAsync(request, Ct);
    }
}
