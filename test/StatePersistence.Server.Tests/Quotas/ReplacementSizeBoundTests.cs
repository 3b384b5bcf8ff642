using System.Net;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Quotas;

/// <summary>
/// A PUT skips measuring the task it stores when <see cref="QuotaGuard.ReplacementSizeAtMost"/> of its body already
/// clears the limit. These hold the bound against the real serializer on the bodies that grow most when written again:
/// characters the encoder escapes six bytes wide, non-ASCII text, short timestamps, fields the server fills in.
/// </summary>
public sealed class ReplacementSizeBoundTests
{
    private const string Id = "task_bound-1";

    public static TheoryData<string> Bodies()
    {
        string escaped = new('<', 300);
        string wide = string.Concat(Enumerable.Repeat("\u00e9\u4e2d\ud83d\ude00", 50));
        return new TheoryData<string>
        {
            "{\"description\":\"d\"}",
            "{\"description\":\"" + escaped + "\"}",
            "{\"description\":\"" + wide + "\"}",
            "{\"description\":\"\\u0041\\n\",\"tool\":\"+\",\"status\":null,\"created_at\":null}",
            "{\"description\":\"d\",\"started_at\":\"2024-01-01T10:00\",\"completed_at\":\"2024-01-01T10:00:00.1-14:00\"}",
            "{\"description\":\"d\",\"logs\":[{\"timestamp\":\"2024-01-01T10:00\",\"level\":\"<\",\"type\":\"<\",\"message\":\"" + escaped + "\"}]}",
            "{\"description\":\"d\",\"<<<<\":\"" + escaped + "\",\"result\":{\"<\":[\"<\",1e5,true,null]}}",
            "  {  \"description\" :  \"<\" ,  \"result\" : \"<\"  }  ",
        };
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task TheStoredTask_IsNeverLargerThanTheBound_OfTheBodyItWasMadeFrom(string body)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string url = "/api/tasks/" + Uri.EscapeDataString(Id);
        long bodyBytes = Encoding.UTF8.GetByteCount(body);

        // Created, then replaced (created_at kept from the stored task): both paths the bound covers.
        foreach (HttpStatusCode expected in (HttpStatusCode[])[HttpStatusCode.Created, HttpStatusCode.OK])
        {
            await (await client.PutJsonAsync(url, body)).ExpectAsync(expected);
            // The answer is the stored task with its revision: at least as long as what the quota measures.
            byte[] stored = await (await client.GetUrlAsync(url)).Content.ReadAsByteArrayAsync(Ct);
            using (JsonDocument.Parse(stored))
            {
            }

            Assert.True(stored.Length <= QuotaGuard.ReplacementSizeAtMost(bodyBytes, Id),
                $"{stored.Length} stored bytes from a body of {bodyBytes}: {Encoding.UTF8.GetString(stored)}");
        }
    }

    [Fact]
    public async Task APutOverTheLimit_IsStillRefused_WhenTheBoundDoesNotClearIt()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:Quotas:MaxTaskBytes", "2000"));
        using HttpClient client = server.Client();
        // 400 bytes of body that store as about 2,400: the bound (over 2,400) does not clear 2,000, so it is measured.
        string body = "{\"description\":\"" + new string('<', 380) + "\"}";

        JsonElement refused = await (await client.PutJsonAsync("/api/tasks/t1", body)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        await (await client.PutJsonAsync("/api/tasks/t1", "{\"description\":\"" + new string('<', 200) + "\"}")).ExpectAsync(HttpStatusCode.Created);
        JsonElement replaced = await (await client.PutJsonAsync("/api/tasks/t1", body)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("MaxTaskBytes", refused.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("MaxTaskBytes", replaced.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(new string('<', 200), (await server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
    }
}
