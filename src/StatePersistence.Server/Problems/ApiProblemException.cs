namespace StatePersistence.Server.Problems;

/// <summary>
/// Ends a request with a problem response from deep inside request parsing, where returning a result would mean
/// threading it through every caller. <see cref="StateExceptionHandler"/> turns it into the response.
/// </summary>
internal sealed class ApiProblemException(IResult problem, string message) : Exception(message)
{
    public IResult Problem { get; } = problem;

    public static ApiProblemException BadRequest(string title, string detail, string? field = null) =>
        new(ApiProblems.Problem(StatusCodes.Status400BadRequest, title, detail, field), detail);

    public static ApiProblemException InvalidField(string field, string detail) =>
        new(ApiProblems.InvalidField(field, detail), detail);

    public static ApiProblemException UnsupportedMediaType(string? sent, string expected) =>
        new(ApiProblems.UnsupportedMediaType(sent, expected), $"Content-Type must be {expected}.");

    public static ApiProblemException TooLarge(long limit) =>
        new(ApiProblems.TooLarge(limit), $"The request body is larger than {limit} bytes.");
}
