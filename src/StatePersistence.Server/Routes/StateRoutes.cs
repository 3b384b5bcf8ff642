using StatePersistence.Serialization;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;

namespace StatePersistence.Server.Routes;

/// <summary><c>/api/state</c> and <c>/api/metrics</c>: the whole state, a forced snapshot, and the seed's metrics.</summary>
internal static class StateRoutes
{
    public static void MapStateRoutes(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/state", GetStateAsync);
        routes.MapPost("/api/state/save", SaveAsync);
        routes.MapGet("/api/metrics", (StatePersistenceService state) => ApiResults.Ok(state.GetMetrics(), StateJsonContext.Default.StateMetrics));
    }

    /// <summary>The state in <c>state.json</c>'s format, as of the newest durable change (newer than the file itself).</summary>
    private static async Task<IResult> GetStateAsync(StatePersistenceService state, CancellationToken cancellationToken) =>
        ApiResults.Ok(await state.LoadStateAsync(cancellationToken), StateJsonContext.Default.PersistedState);

    /// <summary>Writes a snapshot (with its backup) now and answers once it is durable.</summary>
    private static async Task<IResult> SaveAsync(StatePersistenceService state, CancellationToken cancellationToken) =>
        ApiResults.Ok(new StateSavedResponse(await state.SaveSnapshotAsync(cancellationToken)), ServerJsonContext.Default.StateSavedResponse);
}
