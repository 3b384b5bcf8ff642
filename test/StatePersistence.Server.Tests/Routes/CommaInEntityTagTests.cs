using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// An entity tag may hold a comma inside its quotes (RFC 9110 section 8.8.3: etagc = %x21 / %x23-7E / obs-text), so
/// <c>"a,b"</c> is one tag, and a list of tags is split on the commas outside quotes only. Before 2026-12-06 a write
/// refused <c>If-Match: "a,b"</c> with 400 as a list of tags; now it is a tag this server never makes, so a 412 with the
/// current item and its <c>ETag</c>, as a stale tag is. Values that are not entity tags stay a 400 naming the header.
/// </summary>
public sealed class CommaInEntityTagTests : ServerRouteTests
{
    [Theory]
    [InlineData("PUT", "\"a,b\"")]
    [InlineData("PATCH", "\"a,b\"")]
    [InlineData("DELETE", "\"a,b\"")]
    [InlineData("POST-LOG", "\"a,b\"")]
    [InlineData("PATCH", "W/\"a,b\"")]
    [InlineData("PATCH", "\",\"")]
    [InlineData("DELETE", " \"a,,b,\" ")]
    public async Task ATaskWrite_WithACommaInsideTheTag_Is412_WithTheCurrentTask_AndChangesNothing(string method, string ifMatch)
    {
        string id = "t" + Guid.NewGuid().ToString("N")[..8];
        string current = (await Client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"first"}""")).Headers.ETag!.ToString();
        (string verb, string url, string? json) = method switch
        {
            "POST-LOG" => ("POST", $"/api/tasks/{id}/logs", """{"level":"info","type":"t","message":"m"}"""),
            "DELETE" => ("DELETE", $"/api/tasks/{id}", null),
            _ => (method, $"/api/tasks/{id}", """{"description":"second"}"""),
        };

        HttpResponseMessage refused = await Client.SendAsync(Conditional(verb, url, "If-Match", ifMatch, json), Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal("first", problem.GetProperty("current").Str("description"));
        JsonElement stored = await (await Client.GetUrlAsync($"/api/tasks/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("first", stored.Str("description"));
        Assert.Equal(0, stored.GetProperty("logs").GetArrayLength());
    }

    [Theory]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task ASessionWrite_WithACommaInsideTheTag_Is412_WithTheCurrentSession(string method)
    {
        string id = "s" + Guid.NewGuid().ToString("N")[..8];
        string current = (await Client.PostJsonAsync("/api/sessions", $$"""{"id":"{{id}}","type":"i","status":"first"}""")).Headers.ETag!.ToString();

        HttpResponseMessage refused = await Client.SendAsync(Conditional(method, $"/api/sessions/{id}", "If-Match", "\"a,b\"",
            method == "DELETE" ? null : """{"status":"second"}"""), Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal("first", problem.GetProperty("current").Str("status"));
        Assert.Equal("first", (await (await Client.GetUrlAsync($"/api/sessions/{id}")).ExpectAsync(HttpStatusCode.OK)).Str("status"));
    }

    [Fact]
    public async Task AWrite_WithTheCurrentTagAndEmptyListElements_IsOneTag_AndWrites()
    {
        // RFC 9110 section 5.6.1: a recipient accepts empty list elements; what is left is one tag, not a list.
        string current = (await Client.PostJsonAsync("/api/tasks", """{"id":"empty_elements","description":"first"}""")).Headers.ETag!.ToString();

        HttpResponseMessage patched = await Client.SendAsync(Conditional("PATCH", "/api/tasks/empty_elements", "If-Match",
            $" , {current} ,", """{"description":"second"}"""), Ct);

        Assert.Equal("second", (await patched.ExpectAsync(HttpStatusCode.OK)).Str("description"));
    }

    [Theory]
    [InlineData("/api/tasks/{0}", "GET")]
    [InlineData("/api/tasks/{0}", "HEAD")]
    [InlineData("/api/sessions/{0}", "GET")]
    [InlineData("/api/sessions/{0}", "HEAD")]
    public async Task AReadWithIfMatch_ACommaInsideTheTag_Is412_AndAListHoldingTheCurrentTagIsA200(string path, string method)
    {
        (string url, string current) = await CreateAsync(path);

        HttpResponseMessage refused = await Client.SendAsync(Conditional(method, url, "If-Match", "\"a,b\"", null), Ct);
        HttpResponseMessage listed = await Client.SendAsync(Conditional(method, url, "If-Match", $"\"1\", \"a,b\", {current}", null), Ct);
        HttpResponseMessage notListed = await Client.SendAsync(Conditional(method, url, "If-Match", $"\"a,{current.Trim('"')}\"", null), Ct);

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, notListed.StatusCode);
    }

    [Theory]
    [InlineData("/api/tasks/{0}")]
    [InlineData("/api/sessions/{0}")]
    public async Task AReadWithIfNoneMatch_ACommaInsideTheTag_MatchesNothing_AndAListHoldingTheCurrentTagIs304(string path)
    {
        (string url, string current) = await CreateAsync(path);

        HttpResponseMessage full = await Client.SendAsync(Conditional("GET", url, "If-None-Match", "\"a,b\"", null), Ct);
        HttpResponseMessage notModified = await Client.SendAsync(Conditional("GET", url, "If-None-Match", $"\"a,b\", W/{current}", null), Ct);

        await full.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(current, notModified.Headers.ETag?.ToString());
    }

    [Theory]
    [InlineData("\"abc")]
    [InlineData("\"a,b")]
    [InlineData("abc")]
    [InlineData("a,b")]
    [InlineData("\"a\"b\"")]
    [InlineData("\"a\\\"b\"")]
    [InlineData("\"a b\"")]
    [InlineData("w/\"1\"")]
    [InlineData("\"1\" \"2\"")]
    [InlineData(",")]
    public async Task AValueThatIsNoEntityTag_IsStill400_NamingTheHeader_OnAWriteAndOnARead(string value)
    {
        string id = "m" + Guid.NewGuid().ToString("N")[..8];
        string before = (await Client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"first"}""")).Headers.ETag!.ToString();

        // Sent as is: HttpClient would rewrite a value it parses (w/"1" as W/"1").
        (int writeStatus, JsonElement write) = await SendAsIsAsync("PATCH", $"/api/tasks/{id}", "If-Match", value, """{"description":"second"}""");
        (int readStatus, JsonElement read) = await SendAsIsAsync("GET", $"/api/tasks/{id}", "If-Match", value, null);

        Assert.Equal((400, "If-Match"), (writeStatus, write.Str("field")));
        Assert.Equal((400, "If-Match"), (readStatus, read.Str("field")));
        Assert.Equal(before, (await Client.GetUrlAsync($"/api/tasks/{id}")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task OnAWrite_AListOfTags_IsStill400_AndIfNoneMatchWithACommaInsideIsRefusedAsNotStar()
    {
        string current = (await Client.PostJsonAsync("/api/tasks", """{"id":"lists","description":"first"}""")).Headers.ETag!.ToString();

        HttpResponseMessage list = await Client.SendAsync(Conditional("PATCH", "/api/tasks/lists", "If-Match", $"\"a,b\", {current}", """{"description":"second"}"""), Ct);
        HttpResponseMessage notStar = await Client.SendAsync(Conditional("PUT", "/api/tasks/lists", "If-None-Match", "\"a,b\"", """{"description":"second"}"""), Ct);

        JsonElement listProblem = await list.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("If-Match", listProblem.Str("field"));
        Assert.Contains("not a list", listProblem.Str("detail"), StringComparison.Ordinal);
        JsonElement notStarProblem = await notStar.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("If-None-Match", notStarProblem.Str("field"));
        Assert.Contains("Only 'If-None-Match: *'", notStarProblem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("first", (await (await Client.GetUrlAsync("/api/tasks/lists")).ExpectAsync(HttpStatusCode.OK)).Str("description"));
    }

    private async Task<(string Url, string ETag)> CreateAsync(string path)
    {
        string id = "r" + Guid.NewGuid().ToString("N")[..8];
        string url = string.Format(System.Globalization.CultureInfo.InvariantCulture, path, id);
        HttpResponseMessage created = path.StartsWith("/api/tasks", StringComparison.Ordinal)
            ? await Client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"first"}""")
            : await Client.PostJsonAsync("/api/sessions", $$"""{"id":"{{id}}","type":"i","status":"first"}""");
        return (url, created.Headers.ETag!.ToString());
    }

    /// <summary>Sends <paramref name="value"/> byte for byte, past HttpClient's header parsing; the status and the body.</summary>
    private async Task<(int Status, JsonElement Body)> SendAsIsAsync(string method, string path, string header, string value, string? json)
    {
        HttpContext context = await Server.Server.SendAsync(c =>
        {
            c.Request.Method = method;
            c.Request.Scheme = "http";
            c.Request.Host = new HostString("localhost");
            c.Request.Path = path;
            c.Request.Headers[header] = value;
            if (json is not null)
            {
                byte[] body = Encoding.UTF8.GetBytes(json);
                c.Request.ContentType = "application/json";
                c.Request.ContentLength = body.Length;
                c.Request.Body = new MemoryStream(body);
            }
        }, Ct);
        using var reader = new StreamReader(context.Response.Body);
        string text = await reader.ReadToEndAsync(Ct);
        using JsonDocument document = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return (context.Response.StatusCode, document.RootElement.Clone());
    }
}
