using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace StatePersistence.Server.Tests.Support;

/// <summary>Small helpers to send JSON and read responses as JSON documents.</summary>
public static class Http
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A request with <paramref name="header"/> sent as written (not checked or rewritten by HttpClient) and a JSON body when given.</summary>
    public static HttpRequestMessage Conditional(string method, string url, string header, string value, string? json)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (json is not null)
        {
            request.Content = Json(json);
        }

        request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    public static StringContent Text(string text) => new(text, Encoding.UTF8, "text/plain");

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, Json(json), TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string url, string json) =>
        client.PutAsync(url, Json(json), TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string url, string json) =>
        client.PatchAsync(url, Json(json), TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> GetUrlAsync(this HttpClient client, string url) =>
        client.GetAsync(url, TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> DeleteUrlAsync(this HttpClient client, string url) =>
        client.DeleteAsync(url, TestContext.Current.CancellationToken);

    public static Task<string> TextAsync(this HttpResponseMessage response) =>
        response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Asserts the status and returns the body as JSON.</summary>
    public static async Task<JsonElement> ExpectAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == status, $"Expected {(int)status} but got {(int)response.StatusCode}: {text}");
        if (text.Length == 0)
        {
            return default;
        }

        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Asserts a problem response: the status, <c>application/problem+json</c>, and returns it.</summary>
    public static async Task<JsonElement> ExpectProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        JsonElement problem = await response.ExpectAsync(status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    public static string Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    public static bool Has(this JsonElement element, string name) => element.TryGetProperty(name, out _);

    public static MediaTypeHeaderValue? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType;
}
