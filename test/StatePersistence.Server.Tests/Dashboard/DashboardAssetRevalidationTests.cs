using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The dashboard's files are revalidated on every load: <c>If-None-Match</c> naming the file's ETag gets a 304, read
/// as RFC 9110 has it, a list of tags compared weakly. Before 2026-12-06 the header had to be the ETag exactly: a
/// client sending two tags, or the weak form a proxy may make of it, got the whole file every time.
/// </summary>
public sealed class DashboardAssetRevalidationTests
{
    [Theory]
    [InlineData("{0}")]
    [InlineData("W/{0}")]
    [InlineData("\"older\", {0}")]
    [InlineData("*")]
    public async Task AnIfNoneMatchNamingTheFile_GetsA304(string sent)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string etag = await ETagAsync(client);

        using HttpRequestMessage request = Conditional("GET", "/dashboard/assets/app.js", "If-None-Match",
            string.Format(System.Globalization.CultureInfo.InvariantCulture, sent, etag), json: null);
        using HttpResponseMessage response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag?.ToString());
    }

    [Theory]
    [InlineData("\"older\"")]
    [InlineData("\"older\", W/\"other\"")]
    [InlineData("not a tag")]
    public async Task AnIfNoneMatchNotNamingIt_GetsTheFile(string sent)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        byte[] whole = await client.GetByteArrayAsync(new Uri("/dashboard/assets/app.js", UriKind.Relative), Ct);

        using HttpRequestMessage request = Conditional("GET", "/dashboard/assets/app.js", "If-None-Match", sent, json: null);
        using HttpResponseMessage response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(whole, await response.Content.ReadAsByteArrayAsync(Ct));
    }

    private static async Task<string> ETagAsync(HttpClient client)
    {
        using HttpResponseMessage response = await client.GetUrlAsync("/dashboard/assets/app.js");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.ETag!.ToString();
    }
}
