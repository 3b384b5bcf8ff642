using System.Net;
using System.Text;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A seeded, bounded fuzz of the HTTP API through the real pipeline. Invariants: no 5xx, no request left hanging,
/// and a refused request (4xx) changes nothing: not the tasks and sessions (the revision), the reports or the logs.
/// </summary>
public sealed class HttpFuzzTests
{
    private const int Requests = 3000;

    private static readonly string[] Ids = ["task_1", "task_2", "s1", "r1", "a.b", "..", "x%2Fy", "", new string('a', 129), "a%20b", "t%C3%A9"];

    private static readonly string[] Values =
    [
        "null", "1", "-1e309", "true", "[]", "{}", "\"\"", "\" \"", "\"pending\"", "\"in_progress\"", "\"completed\"", "\"bogus\"",
        "\"\\ud800\"", "\"a\\udc00\"", "\"\\u0000\"", "\"10:00\"", "\"1/2/2024\"", "\"2024-01-01T10:00:00Z\"", "\"2024-13-45T99:00:00Z\"",
        "[null]", "[{\"level\":\"info\"}]", "[{\"level\":\"i\",\"type\":\"t\",\"message\":\"m\"}]", "{\"a\":[[[[[]]]]]}",
        "\"" + new string('x', 5000) + "\"", "12345678901234567890123", "\"task_1\"", "\"s1\"",
    ];

    private static readonly string[] Fields =
    [
        "id", "description", "status", "tool", "result", "logs", "created_at", "updated_at", "started_at", "completed_at",
        "type", "task_id", "data", "level", "message", "my_field", "\\ud800", "",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json", "application/json", "application/json; charset=utf-8", "text/plain",
        "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "application/problem+json", "application/json; charset=latin1",
    ];

    [Fact]
    public async Task SeededFuzz_NoServerError_NoHang_AndRefusedRequestsStoreNothing()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        var random = new Random(11);
        var failures = new List<string>();
        for (int i = 0; i < Requests && failures.Count < 5; i++)
        {
            (HttpMethod method, string url) = Route(random);
            HttpContent? content = method == HttpMethod.Get || method == HttpMethod.Delete ? null : Body(random);
            string shown = $"#{i} {method} {url} {(content is null ? "" : await content.ReadAsStringAsync(Ct))}";
            string before = Fingerprint(server);
            using var request = new HttpRequestMessage(method, url) { Content = content };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, timeout.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                failures.Add("no answer (hang): " + shown);
                continue;
            }

            int status = (int)response.StatusCode;
            string text = await response.TextAsync();
            if (status >= 500)
            {
                failures.Add($"{status}: {shown} -> {text}");
            }
            else if (status >= 400 && Fingerprint(server) != before)
            {
                failures.Add($"{status} but the state changed: {shown} -> {text}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static (HttpMethod, string) Route(Random random)
    {
        string id = Pick(random, Ids);
        return random.Next(14) switch
        {
            0 => (HttpMethod.Post, "/api/tasks"),
            1 => (HttpMethod.Put, "/api/tasks/" + id),
            2 => (HttpMethod.Patch, "/api/tasks/" + id),
            3 => (HttpMethod.Post, $"/api/tasks/{id}/logs"),
            4 => (HttpMethod.Delete, "/api/tasks/" + id),
            5 => (HttpMethod.Get, "/api/tasks?status=" + Pick(random, ["", "pending", "bogus", "%FF", "in_progress&status=x"])),
            6 => (HttpMethod.Post, "/api/sessions"),
            7 => (HttpMethod.Patch, "/api/sessions/" + id),
            8 => (HttpMethod.Post, $"/api/sessions/{id}/log"),
            9 => (HttpMethod.Get, $"/api/sessions/{id}/log"),
            10 => (HttpMethod.Post, "/api/reports"),
            11 => (HttpMethod.Get, "/api/reports/" + id),
            12 => (Pick(random, [HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Options]), Pick(random, ["/health", "/metrics", "/api/state", "/api/metrics", "/api/state/save"])),
            _ => (HttpMethod.Get, "/api/tasks/" + id),
        };
    }

    private static HttpContent Body(Random random)
    {
        byte[] bytes;
        switch (random.Next(10))
        {
            case 0:
                bytes = new byte[random.Next(0, 64)];
                random.NextBytes(bytes);
                break;
            case 1:
                bytes = Encoding.UTF8.GetBytes(Pick(random, ["", "null", "[]", "{", "{\"id\":", "\"text\"", "{}{}", "{\"a\":1,\"a\":2}"]));
                break;
            case 2:
                bytes = [.. "{\"description\":\"a"u8, 0xC3, 0x28, 0xFF, .. "\"}"u8];
                break;
            default:
                var json = new StringBuilder("{");
                int fields = random.Next(0, 6);
                for (int f = 0; f < fields; f++)
                {
                    json.Append(f == 0 ? "" : ",").Append('"').Append(Pick(random, Fields)).Append("\":").Append(Pick(random, Values));
                }

                bytes = Encoding.UTF8.GetBytes(json.Append('}').ToString());
                break;
        }

        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", Pick(random, ContentTypes));
        return content;
    }

    /// <summary>The revision of tasks and sessions, plus every report's and log's name and size.</summary>
    private static string Fingerprint(StateServerFactory server)
    {
        var parts = new StringBuilder().Append(server.Persistence.Revision);
        foreach (string directory in new[] { "reports", "logs" })
        {
            string path = server.File(directory);
            if (Directory.Exists(path))
            {
                foreach (string file in Directory.GetFiles(path).Order(StringComparer.Ordinal))
                {
                    parts.Append('|').Append(Path.GetFileName(file)).Append(':').Append(new FileInfo(file).Length);
                }
            }
        }

        return parts.ToString();
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
