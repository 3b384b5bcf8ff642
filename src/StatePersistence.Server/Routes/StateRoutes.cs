using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>/api/state</c> and <c>/api/metrics</c>: the whole state (in <c>state.json</c>'s format, as of the newest durable
/// change, streamed: see <see cref="StreamedStateResult"/>), a forced snapshot, and the seed's metrics.
/// </summary>
internal static class StateRoutes
{
    public static void MapStateRoutes(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/state", (IStatePersistence state) => new StreamedStateResult(state));
        routes.MapPost("/api/state/save", SaveAsync);
        routes.MapGet("/api/metrics", (IStatePersistence state) => ApiResults.Ok(state.GetMetrics(), ServerJsonContext.Default.StateMetrics));
    }

    /// <summary>
    /// Writes a snapshot (with its backup) and answers once it is durable; when nothing changed since the last one it
    /// writes nothing (<c>"saved": false</c>), so repeated calls cannot push real history out of the kept backups.
    /// </summary>
    private static async Task<IResult> SaveAsync(HttpRequest request, IStatePersistence state, CancellationToken cancellationToken)
    {
        Preconditions.RefuseAny(request, "the state carries no ETag; a snapshot is written only when something changed.");
        (DateTimeOffset lastSaved, bool written) = await state.SaveSnapshotIfChangedAsync(cancellationToken);
        return ApiResults.Ok(new StateSavedResponse(lastSaved, written), ServerJsonContext.Default.StateSavedResponse);
    }
}
