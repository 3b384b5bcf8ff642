using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Reads request bodies with the configured size limit and turns every way a body can be wrong into a problem
/// response that names it: too large (413), empty, not JSON, a wrong type at a given field, an unknown field (400).
/// Bodies are buffered because they are small (bounded by the limit) and a task or report is stored whole anyway.
/// </summary>
internal sealed class RequestReader(IOptions<StateServerOptions> options)
{
    private readonly long _limit = options.Value.MaxRequestBodyBytes;

    /// <summary>The body as JSON of <typeparamref name="T"/>, refusing fields the route does not know.</summary>
    public async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        byte[] body = await ReadBytesAsync(request).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw ApiProblemException.BadRequest("Missing body", "The request body is empty; this route expects a JSON object.");
        }

        T? value;
        try
        {
            value = JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException ex)
        {
            string? field = FieldOf(ex.Path);
            string where = field is null ? "" : $" at '{field}'";
            throw ApiProblemException.BadRequest("Malformed JSON",
                $"The request body is not valid JSON for this route{where} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).", field);
        }

        if (value is null)
        {
            throw ApiProblemException.BadRequest("Malformed JSON", "The request body is JSON null; this route expects a JSON object.");
        }

        if (value is JsonRequest { UnknownFields: { Count: > 0 } unknown } known)
        {
            string name = unknown.Keys.Order(StringComparer.Ordinal).First();
            throw ApiProblemException.InvalidField(name,
                $"Unknown field '{name}'; this route accepts: {string.Join(", ", known.AcceptedFields)}.");
        }

        return value;
    }

    /// <summary>The body as UTF-8 text; invalid UTF-8 is refused rather than silently replaced.</summary>
    public async Task<string> ReadTextAsync(HttpRequest request)
    {
        byte[] body = await ReadBytesAsync(request).ConfigureAwait(false);
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw ApiProblemException.BadRequest("Invalid text", "The request body is not valid UTF-8 text.");
        }
    }

    /// <summary>The whole body, or 413 as soon as it passes the limit (by its Content-Length or while reading).</summary>
    public async Task<byte[]> ReadBytesAsync(HttpRequest request)
    {
        if (request.ContentLength > _limit)
        {
            throw ApiProblemException.TooLarge(_limit);
        }

        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _limit)
                {
                    throw ApiProblemException.TooLarge(_limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw ApiProblemException.TooLarge(_limit);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary><c>$.description</c> becomes <c>description</c>; the root (<c>$</c>) names no field.</summary>
    private static string? FieldOf(string? path) =>
        path is null || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
