using StatePersistence.Retention;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// An archive run's or restore's turn: the store's archive lock (<see cref="ITaskArchiveStore.AcquireTaskArchiveLockAsync"/>),
/// then, over a shared store, a state caught up with every change committed before the lock was had
/// (<see cref="StatePersistenceService.CatchUpWithFeedAsync"/>). Runs of several instances take turns, and each decides
/// on what the one before it left, not on a copy the feed has not brought up to date.
/// </summary>
internal static class ArchiveTurn
{
    public static async Task<IAsyncDisposable> TakeAsync(StatePersistenceService service, ITaskArchiveStore archives, CancellationToken cancellationToken)
    {
        IAsyncDisposable turn = await archives.AcquireTaskArchiveLockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await service.CatchUpWithFeedAsync(cancellationToken).ConfigureAwait(false);
            return turn;
        }
        catch
        {
            await turn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
