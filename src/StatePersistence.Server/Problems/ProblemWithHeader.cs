namespace StatePersistence.Server.Problems;

/// <summary>
/// A problem answer that carries a header (<c>Accept-Patch</c>, <c>Accept-Encoding</c>), set as the problem is written:
/// the exception handler clears the response's headers before it writes the problem an <see cref="ApiProblemException"/>
/// carries, so a header set on the response beforehand would be lost.
/// </summary>
internal sealed class ProblemWithHeader(IResult problem, string name, string value) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers[name] = value;
        return problem.ExecuteAsync(httpContext);
    }
}
