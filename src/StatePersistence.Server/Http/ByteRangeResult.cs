using System.Globalization;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Problems;
using StatePersistence.Storage;

namespace StatePersistence.Server.Http;

/// <summary>
/// A text sent whole or, for <c>Range: bytes=…</c>, in part (RFC 9110 section 14). Only what the RFC lets a server
/// honour is honoured: one range of the <c>bytes</c> unit on a <c>GET</c>. Another unit, several ranges, a value that
/// does not parse, or an <c>If-Range</c> (these texts carry no validator, so none can match it) get the whole text,
/// 200, as a client asking for a part must expect. A range that starts past the end is 416, as a problem naming the
/// length, with <c>Content-Range: bytes */&lt;length&gt;</c>; every answer says <c>Accept-Ranges: bytes</c>.
/// <para>The text is written from <paramref name="text"/> (null: an empty text) as it is read, in bounded memory, and
/// the result disposes it. Its length is known before a byte is sent, so <c>Content-Length</c> is given; an append
/// that fails its check once bytes were sent aborts the response (see <see cref="WriteAsync"/>).</para>
/// </summary>
internal sealed partial class ByteRangeResult(ISessionLogReader? text, string contentType, ILogger logger) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        try
        {
            await AnswerAsync(context);
        }
        finally
        {
            if (text is not null)
            {
                await text.DisposeAsync();
            }
        }
    }

    private Task AnswerAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        response.Headers.AcceptRanges = "bytes";
        long length = text?.Length ?? 0;
        if (RequestedRange(context.Request) is not { } range)
        {
            return WriteAsync(context, StatusCodes.Status200OK, 0, length);
        }

        if (Resolve(range, length) is not (long from, long to))
        {
            response.Headers.ContentRange = "bytes */" + length.ToString(CultureInfo.InvariantCulture);
            string held = length == 0 ? "is empty (0 bytes)" : $"is {length} bytes long (bytes 0 to {length - 1})";
            return ApiProblems.Problem(StatusCodes.Status416RangeNotSatisfiable, "Range not satisfiable",
                $"The range '{context.Request.Headers.Range}' asks for no byte of this text, which {held}.",
                field: HeaderNames.Range, more: new Dictionary<string, object?> { ["length"] = length }).ExecuteAsync(context);
        }

        response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {from}-{to}/{length}");
        return WriteAsync(context, StatusCodes.Status206PartialContent, from, to - from + 1);
    }

    /// <summary>The one byte range asked for, or null when the whole text is to be sent.</summary>
    private static RangeItemHeaderValue? RequestedRange(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method) || request.Headers.Range.Count == 0 || request.Headers.IfRange.Count > 0
            || !RangeHeaderValue.TryParse(request.Headers.Range.ToString(), out RangeHeaderValue? range)
            || !range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) || range.Ranges.Count != 1)
        {
            return null;
        }

        return range.Ranges.First();
    }

    /// <summary>The first and last byte of <paramref name="range"/> in a text of <paramref name="length"/>; null if it holds none.</summary>
    private static (long From, long To)? Resolve(RangeItemHeaderValue range, long length)
    {
        if (range.From is { } from)
        {
            return from < length ? (from, Math.Min(range.To ?? long.MaxValue, length - 1)) : null;
        }

        // A suffix (bytes=-n): the last n bytes, all of a shorter text; none of an empty text, or for n = 0.
        long last = range.To ?? 0;
        return last > 0 && length > 0 ? (Math.Max(0, length - last), length - 1) : null;
    }

    /// <summary>
    /// Sends <paramref name="count"/> bytes from <paramref name="offset"/>. Damage found before the first byte went out
    /// is thrown as any failed read is (a problem answer, the headers set here cleared); once the headers and part of
    /// the body are out, a problem can no longer be sent, and ending the response short would leave a client that
    /// reads to the connection's close (or ignores the length) a truncated text it could take for the whole: the
    /// connection is aborted instead, the cause logged and the abort counted (<see cref="AbortedAnswers"/>).
    /// </summary>
    private async Task WriteAsync(HttpContext context, int status, long offset, long count)
    {
        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = count;
        if (HttpMethods.IsHead(context.Request.Method) || count == 0 || text is null)
        {
            return;
        }

        try
        {
            await text.CopyToAsync(response.Body, offset, count, context.RequestAborted);
        }
        catch (Exception failed) when (AbortedAnswers.AfterHeaders(context))
        {
            // Any failure, not only the store's: one that escaped after the headers reached no handler that counts it.
            // A store's failure names its file; any other is a defect, whose stack trace is kept.
            Errors.StatePersistenceException? stored = failed as Errors.StatePersistenceException;
            LogAborted(logger, stored is null ? failed : null, context.Request.Path, stored?.Path, failed.Message, context.TraceIdentifier);
            AbortedAnswers.Abort(context);
        }
    }

    [LoggerMessage(7110, LogLevel.Error, "The answer to {RequestPath} was aborted after its headers were sent, so the client cannot take a truncated text for the whole: reading {Path} failed: {Reason}; correlation id {CorrelationId}")]
    private static partial void LogAborted(ILogger logger, Exception? exception, string requestPath, string? path, string reason, string correlationId);
}
