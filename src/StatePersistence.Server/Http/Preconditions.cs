using System.Globalization;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Problems;
using StatePersistence.Storage;

namespace StatePersistence.Server.Http;

/// <summary>
/// ETags and conditional writes (RFC 9110 section 13). A task's or session's ETag is its revision as a strong tag
/// (<c>"7"</c>). <c>If-Match</c> and <c>If-None-Match: *</c> become the <see cref="ExpectedRevision"/> the library checks
/// inside its commit, so the check and the write are one atomic step: a route never reads, compares and then writes.
/// </summary>
internal static class Preconditions
{
    /// <summary>
    /// Marks the group's routes as answering a conflict the library raised with 412 and the current item's ETag
    /// (<see cref="ConflictAnswerMiddleware"/>), not in the exception handler, which strips <c>ETag</c> from error
    /// responses.
    /// </summary>
    public static RouteGroupBuilder AnswerConflictsWith412(this RouteGroupBuilder group) =>
        group.WithMetadata(ConflictAnswerMiddleware.Marker);

    /// <summary>The strong ETag of an item at <paramref name="revision"/>.</summary>
    public static string ETag(long revision) => "\"" + revision.ToString(CultureInfo.InvariantCulture) + "\"";

    public static void SetETag(HttpResponse response, long revision) => response.Headers.ETag = ETag(revision);

    /// <summary>
    /// Reads <c>If-Match</c> and <c>If-None-Match</c>. A malformed value, several tags, or a form this server does not
    /// evaluate is refused with 400 naming the header, never ignored: a client that sent a condition relies on it.
    /// </summary>
    public static Precondition Read(HttpRequest request, bool createOnlyAllowed)
    {
        string? ifMatch = Single(request, HeaderNames.IfMatch);
        string? ifNoneMatch = Single(request, HeaderNames.IfNoneMatch);
        if (ifMatch is not null && ifNoneMatch is not null)
        {
            throw Refused(HeaderNames.IfNoneMatch, "Send either If-Match or If-None-Match, not both.");
        }

        if (ifNoneMatch is not null)
        {
            return createOnlyAllowed && ifNoneMatch == EntityTags.Any
                ? new Precondition(ExpectedRevision.Absent, Sent: HeaderNames.IfNoneMatch)
                : throw Refused(HeaderNames.IfNoneMatch, createOnlyAllowed
                    ? $"Only 'If-None-Match: *' (create only) is evaluated on this route, not '{Shown(ifNoneMatch)}'."
                    : "This route does not evaluate If-None-Match; only PUT takes 'If-None-Match: *' (create only).");
        }

        if (ifMatch is null)
        {
            return default;
        }

        if (ifMatch == EntityTags.Any)
        {
            return new Precondition(ExpectedRevision.Any, Sent: HeaderNames.IfMatch, MustExist: true);
        }

        if (!EntityTags.IsTag(ifMatch))
        {
            throw Refused(HeaderNames.IfMatch,
                $"'{Shown(ifMatch)}' is not an entity tag: send the ETag a response gave, quotes included (for example \"7\"), or *.");
        }

        // RFC 9110: If-Match compares strongly, so a weak tag, or a tag this server never makes ("a,b"), matches no revision.
        bool weak = ifMatch.StartsWith("W/", StringComparison.Ordinal);
        string tag = weak ? ifMatch[2..] : ifMatch;

        // Strong comparison is of the tags, not of the numbers in them: only the canonical form the server makes ("119",
        // not "000119") names a revision.
        return !weak && long.TryParse(tag.AsSpan(1, tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out long revision)
            && tag == ETag(revision)
            ? new Precondition(ExpectedRevision.Exactly(revision), Sent: HeaderNames.IfMatch, MustExist: true)
            : new Precondition(ExpectedRevision.Any, Sent: HeaderNames.IfMatch, MustExist: true, NeverMatches: true);
    }

    /// <summary>
    /// Refuses <c>If-Match</c> and <c>If-None-Match</c> on a write route that evaluates neither (a create by
    /// <c>POST</c>, a session log append, a snapshot): a client that sent a condition relies on it, so ignoring it
    /// could replace what the client meant to keep. Called before the body is read, so nothing is written.
    /// </summary>
    /// <param name="why">Why the route takes no condition, and what to do instead, for the problem's detail.</param>
    public static void RefuseAny(HttpRequest request, string why)
    {
        string? header = request.Headers.IfMatch.Count > 0 ? HeaderNames.IfMatch
            : request.Headers.IfNoneMatch.Count > 0 ? HeaderNames.IfNoneMatch
            : null;
        if (header is not null)
        {
            throw Refused(header, $"This route does not evaluate {header}: {why}");
        }
    }

    /// <summary>412 for a write whose condition the item did not meet, with the item as it is now (or null) and its ETag.</summary>
    public static IResult Failed(HttpResponse response, StateConflictException conflict)
    {
        string state = conflict.CurrentRevision is { } revision ? $"is at revision {revision} (ETag {ETag(revision)})" : "does not exist";
        string expected = conflict.Expected.IsAbsent ? "to be absent (If-None-Match: *)"
            : conflict.Expected.Revision is { } r ? $"at ETag {ETag(r)} (If-Match)"
            : "to exist (If-Match)";
        return Failed(response, conflict.Kind, conflict.Id, conflict.CurrentRevision, Element(conflict.Current),
            $"The {conflict.Kind} '{conflict.Id}' was expected {expected} but {state}; nothing was written. Reload it, reapply the change and send the new ETag.");
    }

    /// <summary>412 for a condition on an item that does not exist or matches no revision (<c>If-Match: *</c>, a weak tag).</summary>
    public static IResult Failed(HttpResponse response, string kind, string id, Precondition precondition, AgentTask? task, SessionInfo? session)
    {
        long? revision = task?.Revision ?? session?.Revision;
        JsonElement? current = Element(task is not null ? task : session);
        string why = current is null ? "does not exist" : $"is at revision {revision} (ETag {ETag(revision!.Value)}), which {precondition.Sent} does not name";
        return Failed(response, kind, id, revision, current, $"The {kind} '{id}' {why}; nothing was written.");
    }

    /// <summary>412 for a read whose <c>If-Match</c> names no tag of the item as it is (<see cref="ConditionalGet"/>).</summary>
    public static IResult NotCurrent(HttpResponse response, string kind, string id, long revision, object item) =>
        Failed(response, kind, id, revision, Element(item),
            $"The {kind} '{id}' is at revision {revision} (ETag {ETag(revision)}), which If-Match does not name.");

    private static IResult Failed(HttpResponse response, string kind, string id, long? revision, JsonElement? current, string detail)
    {
        if (revision is { } r)
        {
            SetETag(response, r);
        }

        return ApiProblems.Problem(StatusCodes.Status412PreconditionFailed, "Precondition failed", detail, id: id, kind: kind,
            more: new Dictionary<string, object?> { ["current_revision"] = revision, ["current"] = current });
    }

    private static JsonElement? Element(object? item) => item switch
    {
        AgentTask task => JsonSerializer.SerializeToElement(task, ServerJsonContext.Default.AgentTask),
        SessionInfo session => JsonSerializer.SerializeToElement(session, ServerJsonContext.Default.SessionInfo),
        _ => null,
    };

    private static string? Single(HttpRequest request, string header)
    {
        Microsoft.Extensions.Primitives.StringValues values = request.Headers[header];
        if (values.Count == 0)
        {
            return null;
        }

        string value = values.ToString().Trim();
        if (value.Length == 0)
        {
            throw Refused(header, $"{header} is empty; send an ETag such as \"7\", or *.");
        }

        // A list is split on the commas outside quotes only: "a,b" is one tag (RFC 9110 section 8.8.3). A value that is
        // no list of tags is returned as sent, for the caller's refusal.
        if (!EntityTags.TryParse(values, out IReadOnlyList<string>? tags))
        {
            return value;
        }

        return tags.Count == 1 ? tags[0]
            : throw Refused(header, $"{header} names one entity tag here (the revision the write expects), not a list: '{Shown(value)}'.");
    }

    /// <summary>The 400 for a malformed or unevaluated precondition header, naming it.</summary>
    public static ApiProblemException Refused(string header, string detail) =>
        new(ApiProblems.Problem(StatusCodes.Status400BadRequest, "Invalid precondition", detail, field: header), detail);

    /// <summary>A header value as a message shows it: cut at 40 characters.</summary>
    public static string Shown(string text) => text.Length > 40 ? text[..40] + "…" : text;
}

/// <summary>What a request's conditional headers ask of the item it writes.</summary>
/// <param name="Expected">What the library must find (a revision, absence, or anything).</param>
/// <param name="Sent">The header that carried the condition, for messages; null when there was none.</param>
/// <param name="MustExist">The item must exist (any <c>If-Match</c>): a write that finds none is 412, not 404 or a create.</param>
/// <param name="NeverMatches">A weak or foreign tag: no revision matches, so the write is 412 whatever the item is.</param>
internal readonly record struct Precondition(ExpectedRevision Expected, string? Sent = null, bool MustExist = false, bool NeverMatches = false)
{
    /// <summary>The request sent a condition.</summary>
    public bool Any => Sent is not null;

    /// <summary><c>If-None-Match: *</c>: create only.</summary>
    public bool CreateOnly => Expected.IsAbsent;
}
