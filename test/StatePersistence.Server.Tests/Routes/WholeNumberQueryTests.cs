using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A number in the query is digits only. .NET's integer parsing ignores trailing NUL characters, so <c>?limit=1%00</c>
/// answered a page of 1 where <c>?status=pending%00</c> is refused: a value the client did not send was taken.
/// </summary>
public sealed class WholeNumberQueryTests : ServerRouteTests
{
    [Theory]
    [InlineData("/api/tasks?limit=1%00", "limit")]
    [InlineData("/api/tasks?limit=1%00%00", "limit")]
    [InlineData("/api/sessions?limit=1%00", "limit")]
    [InlineData("/api/reports?limit=1%00", "limit")]
    [InlineData("/api/dashboard/tasks?page=1%00", "page")]
    [InlineData("/api/dashboard/tasks?size=5%00", "size")]
    public async Task ANumberWithATrailingNul_Is400_NamingTheParameter(string url, string field)
    {
        JsonElement problem = await (await Client.GetUrlAsync(url)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
    }

    [Theory]
    [InlineData("/api/tasks?limit=1")]
    [InlineData("/api/tasks?limit=0001")]
    [InlineData("/api/dashboard/tasks?page=1&size=5")]
    public async Task DigitsAreRead(string url)
    {
        await (await Client.GetUrlAsync(url)).ExpectAsync(HttpStatusCode.OK);
    }
}
