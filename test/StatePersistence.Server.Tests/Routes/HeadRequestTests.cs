using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>RFC 9110 section 9.3.2: the API answers <c>HEAD</c> wherever it answers <c>GET</c>, with the same status and headers.</summary>
public sealed class HeadRequestTests : ServerRouteTests
{
    public override async ValueTask InitializeAsync()
    {
        await (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":1}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostAsync("/api/sessions/s1/log", Text("line\n"), Ct)).StatusCode);
    }

    [Theory]
    [InlineData("/api/tasks")]
    [InlineData("/api/tasks/t1")]
    [InlineData("/api/tasks/t9")]
    [InlineData("/api/sessions")]
    [InlineData("/api/sessions/s1")]
    [InlineData("/api/sessions/s1/log")]
    [InlineData("/api/reports")]
    [InlineData("/api/reports/r1")]
    [InlineData("/api/state")]
    [InlineData("/api/metrics")]
    public async Task Head_AnswersAsGetDoes(string url)
    {
        HttpResponseMessage get = await Client.GetUrlAsync(url);

        HttpResponseMessage head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url), Ct);

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
    }

    [Fact]
    public async Task Head_OfAWriteOnlyRoute_IsStill405()
    {
        HttpResponseMessage head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/state/save"), Ct);

        await head.ExpectAsync(HttpStatusCode.MethodNotAllowed);
    }
}
