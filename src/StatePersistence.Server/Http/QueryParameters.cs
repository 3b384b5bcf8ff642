namespace StatePersistence.Server.Http;

/// <summary>
/// The query parameters a route under <c>/api</c> takes, as endpoint metadata read by <see cref="QueryParameterCheck"/>.
/// Any other is refused: ASP.NET Core binds only the names a handler declares and ignores the rest, so a misspelt
/// filter (<c>?stauts=completed</c>, or <c>?updated_since=</c> in the JSON's own spelling) answered every task, as
/// if no filter had been sent: a script deleting what the list returns would delete everything.
/// </summary>
internal sealed class QueryParameters(params string[] names)
{
    /// <summary>What a route that takes none carries (every route under <c>/api</c> without its own).</summary>
    public static readonly QueryParameters None = new();

    /// <summary>The names, compared ignoring case as the handlers bind them.</summary>
    public IReadOnlySet<string> Names { get; } = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);

    /// <summary>The names as the route spells them, for the refusal's detail.</summary>
    public IReadOnlyList<string> Shown { get; } = names;
}

/// <summary>How routes declare their <see cref="QueryParameters"/>.</summary>
internal static class QueryParameterConventions
{
    /// <summary>This route takes exactly these query parameters.</summary>
    public static TBuilder TakesQuery<TBuilder>(this TBuilder builder, params string[] names) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new QueryParameters(names));

    /// <summary>
    /// Every route of the group that declares no <see cref="QueryParameters"/> takes none. Finally: after each route's
    /// own conventions, so a route's <see cref="TakesQuery"/> is there to be seen.
    /// </summary>
    public static RouteGroupBuilder TakeNoQueryByDefault(this RouteGroupBuilder group)
    {
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            if (!endpoint.Metadata.OfType<QueryParameters>().Any())
            {
                endpoint.Metadata.Add(QueryParameters.None);
            }
        });
        return group;
    }
}
