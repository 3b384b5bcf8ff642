using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// An origin listed in <c>CorsOrigins</c> with a trailing <c>/</c> (<c>https://app.example/</c>, which the start
/// accepts) is the origin a browser sends without it. The origin check read it so, and let the page's requests through,
/// but the CORS policy was given the setting as written and matched no <c>Origin</c>: the preflight carried no
/// <c>Access-Control-Allow-Origin</c> (so the browser sent no JSON request at all), and a request sent without one (a
/// <c>GET</c>, a <c>DELETE</c> sent by a non-preflighting client, a <c>text/plain</c> log append) was carried out while
/// its answer, without the header, was hidden from the page, which saw a failure for a write that was stored.
/// </summary>
public sealed class CorsOriginSpellingTests
{
    private const string Origin = "https://dashboard.example";

    [Fact]
    public async Task AnOriginListedWithATrailingSlash_GetsItsPreflightAndItsAnswersAnswered()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:CorsOrigins:0", Origin + "/"));
        using HttpClient client = server.Client();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/tasks");
        preflight.Headers.TryAddWithoutValidation("Origin", Origin);
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "content-type");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        post.Headers.TryAddWithoutValidation("Origin", Origin);
        post.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");

        HttpResponseMessage answer = await client.SendAsync(preflight, Ct);
        HttpResponseMessage created = await client.SendAsync(post, Ct);

        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.True(answer.Headers.TryGetValues("Access-Control-Allow-Origin", out IEnumerable<string>? allowed), "The preflight allowed no origin.");
        Assert.Equal(Origin, allowed.Single());
        await created.ExpectAsync(HttpStatusCode.Created);
        Assert.True(created.Headers.TryGetValues("Access-Control-Allow-Origin", out IEnumerable<string>? readable),
            "The write was stored, but its answer is hidden from the page that made it.");
        Assert.Equal(Origin, readable.Single());
    }

    [Fact]
    public async Task AnotherOrigin_IsStillRefused_WhenTheListedOneHasATrailingSlash()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:CorsOrigins:0", Origin + "/"));
        using HttpClient client = server.Client();
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        post.Headers.TryAddWithoutValidation("Origin", "https://attacker.example");

        await (await client.SendAsync(post, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }
}
