using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Reads request bodies with the configured size limit and turns every way a body can be wrong into a problem
/// response that names it: the wrong media type (415), too large (413), empty, not UTF-8, not JSON, a string no
/// UTF-16 text can hold, a wrong type at a given field, an unknown field (400). Bodies are buffered because they are
/// small (bounded by the limit) and a task or report is stored whole anyway.
/// </summary>
internal sealed class RequestReader(IOptions<StateServerOptions> options, BodyBudget budget, BodyDeadline deadline)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly long _limit = options.Value.MaxRequestBodyBytes;

    /// <summary>The body as JSON of <typeparamref name="T"/>, refusing fields the route does not know.</summary>
    public async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        RequireMediaType(request, "application/json");
        if (request.ContentLength is not { } declared || declared == 0 || declared > _limit)
        {
            // Chunked, empty or too large: ReadBytesAsync reads it or refuses it.
            return Deserialize(await ReadBytesAsync(request).ConfigureAwait(false), typeInfo);
        }

        // Held until the request ends, as the value parsed from the body lives as long as the route.
        budget.Reserve(request);

        // A declared length is read into pooled memory: the value deserialized from it keeps no reference to it.
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)declared);
        try
        {
            Memory<byte> body = rented.AsMemory(0, (int)declared);
            await ReadBoundedAsync(request, token => ReadDeclaredAsync(request, body, token)).ConfigureAwait(false);
            return Deserialize(body.Span, typeInfo);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static T Deserialize<T>(ReadOnlySpan<byte> body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (body.Length == 0)
        {
            throw ApiProblemException.BadRequest("Missing body", "The request body is empty; this route expects a JSON object.");
        }

        CheckText(body);
        NumberRange.Check(body);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException ex)
        {
            // The serializer refuses a member named twice (ServerJsonContext) without saying so in a form to rely on:
            // only on this error path is the body read again to find one.
            if (DuplicateMembers.Find(body) is (string member, string duplicateIn))
            {
                string inField = member == duplicateIn ? "" : $" (in '{duplicateIn}')";
                throw ApiProblemException.BadRequest("Malformed JSON",
                    $"The request body names the member '{member}' more than once in one object{inField}; JSON readers disagree on " +
                    "which one counts, so it is refused rather than stored.", duplicateIn);
            }

            // 0 is System.Text.Json's default, 64.
            int limit = typeInfo.Options.MaxDepth > 0 ? typeInfo.Options.MaxDepth : 64;
            if (NestingDepth.Beyond(body, limit) is int depth)
            {
                throw ApiProblemException.BadRequest("Malformed JSON",
                    $"The request body nests objects and arrays {depth} levels deep; this server reads at most {limit}.", FieldOf(ex.Path));
            }

            if (BodyShape.NotAnObject(body) is { } notAnObject)
            {
                throw ApiProblemException.BadRequest("Malformed JSON", notAnObject);
            }

            string? field = FieldOf(ex.Path);
            string where = field is null ? "" : $" at '{field}'";
            string reason = ex.InnerException is FormatException or OverflowException || ex.Message.Contains("ISO-8601", StringComparison.Ordinal)
                ? " " + ex.Message
                : "";
            throw ApiProblemException.BadRequest("Malformed JSON",
                $"The request body is not valid JSON for this route{where} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).{reason}", field);
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
        RequireMediaType(request, "text/plain");
        byte[] body = await ReadBytesAsync(request).ConfigureAwait(false);
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw ApiProblemException.BadRequest("Invalid text", "The request body is not valid UTF-8 text.");
        }
    }

    private static ApiProblemException FormTooLarge(long limit)
    {
        string detail = $"The login form is larger than {limit} bytes; it holds one field, key.";
        return new ApiProblemException(ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", detail,
            more: new Dictionary<string, object?> { ["limit_value"] = limit }), detail);
    }

    /// <summary>
    /// An urlencoded form (the login's): 415 with a content coding, 413 past <see cref="BodyBudget.FormLimit"/> (by its
    /// Content-Length or while it is read), its room reserved in the <see cref="BodyBudget"/>'s pool for forms, apart
    /// from the API's bodies (429 when its address already has <see cref="BodyBudget.FormsPerAddress"/> forms being
    /// read), 408 when not whole within the <see cref="BodyDeadline"/>. A form the framework's reader
    /// refuses (more than 1,024 fields, a field name over 2,048 characters: <c>FormOptions</c>' limits) is a 400 saying
    /// which; it was a 500.
    /// </summary>
    public async Task<IFormCollection> ReadFormAsync(HttpRequest request)
    {
        // As every body: one sent compressed (gzip) was read as if it were not, so its key was never found.
        ContentEncodingCheck.RequireIdentity(request);
        long limit = BodyBudget.FormLimit(_limit);
        if (request.ContentLength > limit)
        {
            throw FormTooLarge(limit);
        }

        budget.ReserveForm(request, limit);
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // A chunked form is cut at the limit while it is read, as a declared length is refused above.
            size.MaxRequestBodySize = limit;
        }

        // Read whole within the deadline before it is parsed: the framework's form reader aborts the connection when its
        // token is cancelled, so a form past the deadline got no answer at all, not the 408.
        byte[] body = request.ContentLength is { } length
            ? await ReadBoundedAsync(request, token => ReadDeclaredAsync(request, new byte[length], token), limit).ConfigureAwait(false)
            : await ReadBoundedAsync(request, token => ReadChunkedAsync(request, limit, form: true, token), limit).ConfigureAwait(false);
        request.Body = new MemoryStream(body, writable: false);
        try
        {
            return await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            throw ApiProblemException.BadRequest("Malformed form", "The form in the request body could not be read: " + ex.Message);
        }
    }

    /// <summary>The whole body, or 413 as soon as it passes the limit (by its Content-Length or while reading).</summary>
    public async Task<byte[]> ReadBytesAsync(HttpRequest request)
    {
        if (request.ContentLength > _limit)
        {
            throw ApiProblemException.TooLarge(_limit);
        }

        budget.Reserve(request);

        // A declared length (every client but a chunked one) is read straight into an array of that size: no
        // growing buffer and no final copy, which were a tenth of what a task PUT allocated.
        if (request.ContentLength is { } length)
        {
            return await ReadBoundedAsync(request, token => ReadDeclaredAsync(request, length == 0 ? [] : new byte[length], token)).ConfigureAwait(false);
        }

        return await ReadBoundedAsync(request, token => ReadChunkedAsync(request, _limit, form: false, token)).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the body within its <see cref="BodyDeadline"/> (408 past it), turning what Kestrel throws for a bad body
    /// into the problem it is.
    /// </summary>
    private async Task<TResult> ReadBoundedAsync<TResult>(HttpRequest request, Func<CancellationToken, Task<TResult>> read, long? formLimit = null)
    {
        try
        {
            return await deadline.ReadAsync(request, read).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw formLimit is { } limit ? FormTooLarge(limit) : ApiProblemException.TooLarge(_limit);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            // Kestrel's minimum data rate ended the body. Its exception is an IOException, so it was a 400 "Malformed
            // body" naming Kestrel's own option, and neither counted nor logged.
            throw deadline.TooSlow(request);
        }
        catch (IOException ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel reports some malformed framing (a chunk size that overflows) as an IOException, not a bad request.
            throw ApiProblemException.BadRequest("Malformed body", "The request body could not be read: " + ex.Message);
        }
    }

    /// <summary>
    /// A body of a declared length. Kestrel ends the body at that length and fails a connection that ends early, so
    /// a short read here means the request was aborted.
    /// </summary>
    private static async Task<byte[]> ReadDeclaredAsync(HttpRequest request, byte[] body, CancellationToken cancellationToken)
    {
        await ReadDeclaredAsync(request, body.AsMemory(), cancellationToken).ConfigureAwait(false);
        return body;
    }

    private static async Task<int> ReadDeclaredAsync(HttpRequest request, Memory<byte> body, CancellationToken cancellationToken)
    {
        int length = body.Length;
        int filled = 0;
        int read;
        while (filled < length && (read = await request.Body.ReadAsync(body[filled..], cancellationToken).ConfigureAwait(false)) > 0)
        {
            filled += read;
        }

        return filled == length
            ? filled
            : throw ApiProblemException.BadRequest("Malformed body", $"The request body ended after {filled} of the {length} bytes its Content-Length declares.");
    }

    /// <summary>A body of unknown length (chunked), refused as soon as it passes <paramref name="limit"/>.</summary>
    private static async Task<byte[]> ReadChunkedAsync(HttpRequest request, long limit, bool form, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw form ? FormTooLarge(limit) : ApiProblemException.TooLarge(limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// 415 unless the body is declared as <paramref name="expected"/> (JSON routes also take <c>+json</c> types), in
    /// UTF-8 when a charset is given, and with no content coding (<see cref="ContentEncodingCheck"/>). A browser can
    /// send a cross-site form or <c>text/plain</c> without asking first, but not <c>application/json</c>.
    /// </summary>
    private static void RequireMediaType(HttpRequest request, string expected)
    {
        ContentEncodingCheck.RequireIdentity(request);
        bool ok = MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? type)
            && (type.MediaType.Equals(expected, StringComparison.OrdinalIgnoreCase)
                || (expected == "application/json" && type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
            && IsUtf8(type.Charset);
        if (!ok)
        {
            throw ApiProblemException.UnsupportedMediaType(request.ContentType, expected);
        }
    }

    /// <summary>
    /// No charset, or UTF-8 (or its subset US-ASCII) in any case, quoted or not: RFC 9110 makes
    /// <c>charset="utf-8"</c> the same parameter value as <c>charset=utf-8</c>.
    /// </summary>
    private static bool IsUtf8(Microsoft.Extensions.Primitives.StringSegment charset)
    {
        if (!charset.HasValue)
        {
            return true;
        }

        Microsoft.Extensions.Primitives.StringSegment name = HeaderUtilities.RemoveQuotes(charset);
        return name.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || name.Equals("us-ascii", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Refuses a body that is not UTF-8, or whose escapes spell a string UTF-16 cannot hold (a lone surrogate such as
    /// <c>"\ud800"</c>) or the NUL character (<c>"\u0000"</c>, which PostgreSQL's <c>jsonb</c> cannot hold: refused on
    /// every store alike, so a client that works against one store works against all), wherever it is: in a field
    /// this server reads or in free-form JSON it stores as given.
    /// </summary>
    private static void CheckText(ReadOnlySpan<byte> body)
    {
        if (!Utf8.IsValid(body))
        {
            throw ApiProblemException.BadRequest("Invalid text", "The request body is not valid UTF-8.");
        }

        if (body.IndexOf("\\u"u8) < 0)
        {
            // Only a \u escape can spell a lone surrogate: most bodies have none and need no second parse.
            return;
        }

        var reader = new Utf8JsonReader(body);
        string? field = null;
        try
        {
            while (reader.Read())
            {
                if ((reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String) && reader.ValueIsEscaped)
                {
                    string text = reader.GetString()!;
                    if (text.Contains('\0', StringComparison.Ordinal))
                    {
                        string at = reader.TokenType == JsonTokenType.PropertyName ? "a field name" : field is null ? "a string" : $"the value of '{field}'";
                        throw ApiProblemException.BadRequest("Invalid text",
                            $"The request body holds the NUL character ('\\u0000') in {at}; it cannot be stored (PostgreSQL's jsonb refuses it), so every store refuses it.",
                            reader.TokenType == JsonTokenType.PropertyName ? null : field);
                    }

                    if (!IsWellFormedUtf16(text))
                    {
                        throw new InvalidOperationException("A lone surrogate.");
                    }
                }

                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    field = reader.GetString();
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            string where = field is null ? "" : $" (after '{field}')";
            throw ApiProblemException.BadRequest("Invalid text",
                $"The request body holds a string{where} that is not valid Unicode, such as an escaped lone surrogate ('\\ud800').", field);
        }
        catch (JsonException)
        {
            // Malformed JSON: deserializing reports it with its position.
            return;
        }
    }

    private static bool IsWellFormedUtf16(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>$.description</c> becomes <c>description</c>; the root (<c>$</c>) names no field.</summary>
    private static string? FieldOf(string? path) =>
        path is null || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
