using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A query parameter that is not UTF-8 once percent-decoded is a 400 naming it. ASP.NET Core decoded <c>?q=%FF</c> to
/// U+FFFD without a word, and the search ran for a character the client never sent.
/// </summary>
public sealed class QueryEncodingTests : ServerRouteTests
{
    [Theory]
    [InlineData("/api/tasks?q=%FF", "q")]
    [InlineData("/api/tasks?status=pending&q=ab%C3", "q")]
    [InlineData("/api/tasks?tool=%ED%A0%80", "tool")]
    [InlineData("/api/dashboard/tasks?q=%C0%AF", "q")]
    public async Task AValueThatIsNotUtf8_Is400_NamingTheParameter(string url, string field)
    {
        JsonElement problem = await (await Client.GetUrlAsync(url)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Contains("is not UTF-8 once percent-decoded", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/tasks?q=%C3%BC")]
    [InlineData("/api/tasks?q=caf%C3%A9+au+lait")]
    [InlineData("/api/tasks?q=%F0%9F%98%80")]
    public async Task PercentEncodedUtf8_IsRead(string url)
    {
        await (await Client.GetUrlAsync(url)).ExpectAsync(HttpStatusCode.OK);
    }
}
