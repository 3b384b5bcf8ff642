using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StatePersistence.Server.Http;

/// <summary>
/// A JSON response serialized whole before it is sent, with its <c>Content-Length</c>. <c>Results.Json</c> serializes
/// asynchronously into the response pipe with no length, so every answer goes out chunked, and Kestrel sends the
/// closing chunk when the request ends: two sends per response where one does. The documents here are a few
/// kilobytes (the quotas bound them), so holding one in a buffer costs nothing a stream would save.
/// </summary>
internal sealed class JsonBodyResult<T>(T value, JsonTypeInfo<T> typeInfo, int statusCode)
    : IResult, IStatusCodeHttpResult, IValueHttpResult<T>, IContentTypeHttpResult
{
    // One buffer and writer per thread: serialization is synchronous, and the bytes are copied into the response
    // pipe before the first await, so no other request can reach them in between.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static JsonSerializerOptions? t_writerOptions;

    // A buffer that grew for one large document is not kept for every later small one.
    private const int KeptCapacity = 64 * 1024;

    public int? StatusCode => statusCode;

    public T? Value => value;

    public string ContentType => ApiResults.JsonContentType;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        Utf8JsonWriter writer = WriterFor(buffer, typeInfo.Options);
        try
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
            writer.Flush();

            HttpResponse response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = ApiResults.JsonContentType;
            response.ContentLength = buffer.WrittenCount;
            response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeptCapacity)
            {
                t_buffer = null;
                t_writer = null;
            }
            else
            {
                buffer.ResetWrittenCount();
            }
        }

        return httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
    }

    /// <summary>The thread's writer, made again when the options differ (indentation and encoder are the writer's).</summary>
    private static Utf8JsonWriter WriterFor(ArrayBufferWriter<byte> buffer, JsonSerializerOptions options)
    {
        if (t_writer is { } writer && ReferenceEquals(t_writerOptions, options))
        {
            writer.Reset(buffer);
            return writer;
        }

        t_writerOptions = options;
        return t_writer = new Utf8JsonWriter(buffer, SerializerWriterOptions.Of(options));
    }
}
