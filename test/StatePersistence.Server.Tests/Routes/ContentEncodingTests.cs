using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A request body with a <c>Content-Encoding</c> the server does not decode (it decodes none) is a 415 naming the
/// header, with <c>Accept-Encoding: identity</c> (RFC 9110 sections 8.4 and 15.5.16). The header was not read: a
/// gzip JSON body got "not valid UTF-8", and a log line announced as <c>br</c> was appended as sent.
/// </summary>
public sealed class ContentEncodingTests : ServerRouteTests
{
    public override async ValueTask InitializeAsync()
    {
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("identity, gzip")]
    public async Task ALogAppend_WithAContentCoding_Is415_AndAppendsNothing(string coding)
    {
        var content = new StringContent("plain text that is valid UTF-8\n", Encoding.UTF8, "text/plain");
        content.Headers.TryAddWithoutValidation("Content-Encoding", coding);

        HttpResponseMessage refused = await Client.PostAsync("/api/sessions/s1/log", content, Ct);

        await ExpectRefusedAsync(refused);
        Assert.Equal("", await (await Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    [Fact]
    public async Task AGzipJsonBody_Is415_NotInvalidUtf8_AndStoresNothing()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write("""{"id":"t1","description":"x"}"""u8);
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        await ExpectRefusedAsync(await Client.PostAsync("/api/tasks", content, Ct));
        Assert.Null(await Server.Persistence.LoadTaskAsync("t1", Ct));
    }

    [Fact]
    public async Task Identity_IsNoCoding_AndIsRead()
    {
        var content = new StringContent("line\n", Encoding.UTF8, "text/plain");
        content.Headers.ContentEncoding.Add("identity");

        await (await Client.PostAsync("/api/sessions/s1/log", content, Ct)).ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal("line\n", await (await Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    private static async Task ExpectRefusedAsync(HttpResponseMessage refused)
    {
        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("Content-Encoding", problem.Str("field"));
        Assert.Equal("identity", refused.Headers.GetValues("Accept-Encoding").Single());
    }
}
